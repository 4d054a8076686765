import TestSupport

/// The client process of the load and kill tests: python3 doing random
/// operations on a mounted host, the way scripts and tools do them, through
/// the mount (write(2) to the attributes) and the control socket (guests,
/// migration states). Arguments: seed, number of operations, mount point,
/// control socket, result file, guest-name prefix. Every operation's outcome
/// (`ok`, an errno name, `ERR` or `ERR-errno-N` for the socket) is counted
/// per operation kind and written as JSON to the result file at the end;
/// the operations done so far are written to RESULT.progress every 50.
/// A socket reply without a status line is counted as `NOANSWER` (the host
/// went away).
enum LoadWorker {
    /// The mdev UUIDs the workers create, remove and assign to (shared by all).
    static let uuids = LoadTopology.uuids

    static let script = """
        import errno, json, os, random, socket, sys
        seed, count, root, sock, out, prefix = sys.argv[1:]
        rnd = random.Random(int(seed))
        UUIDS = [\(uuids.map { "\"\($0)\"" }.joined(separator: ", "))]
        ADAPTERS = [1, 2, 3, 4]
        DOMAINS = [1, 2, 3, 4]
        MATRIX = root + "/devices/vfio_ap/matrix"
        CREATE = MATRIX + "/mdev_supported_types/vfio_ap-passthrough/create"
        STATES = ["RUNNING", "STOP", "STOP_COPY", "RESUMING", "RUNNING_P2P"]

        def write(path, text):
            try:
                fd = os.open(path, os.O_WRONLY)
            except OSError as e:
                return errno.errorcode[e.errno]
            try:
                os.write(fd, text.encode())
                return "ok"
            except OSError as e:
                return errno.errorcode[e.errno]
            finally:
                os.close(fd)

        def control(words):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            try:
                s.connect(sock)
                s.sendall((words + "\\n").encode())
                data = b""
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    data += b
            finally:
                s.close()
            line = data.split(b"\\n", 1)[0].decode() if b"\\n" in data else None
            if line == "OK":
                return "ok"
            if line is None:
                return "NOANSWER"
            if line.startswith("ERR errno="):
                return "ERR-errno-" + line[10:].split()[0]
            return "ERR"

        def ident(ids, extra):
            return rnd.choice(ids + extra) if rnd.random() < 0.1 else rnd.choice(ids)

        def mask(ids):
            return "0x" + format(sum(1 << (255 - i) for i in ids), "064x")

        def subset(ids):
            return [i for i in ids if rnd.random() < 0.4]

        def op():
            u = rnd.choice(UUIDS)
            m = MATRIX + "/" + u
            g = prefix + str(rnd.randrange(2))
            k = rnd.random() * 100
            if k < 12: return "assign_adapter", write(m + "/assign_adapter", "%d\\n" % ident(ADAPTERS, [5, 0x80, 256]))
            if k < 18: return "unassign_adapter", write(m + "/unassign_adapter", "%d\\n" % ident(ADAPTERS, [5]))
            if k < 30: return "assign_domain", write(m + "/assign_domain", "%#x\\n" % ident(DOMAINS, [5, 0x80, 256]))
            if k < 36: return "unassign_domain", write(m + "/unassign_domain", "%#x\\n" % ident(DOMAINS, [5]))
            if k < 40: return "assign_control_domain", write(m + "/assign_control_domain", "%d\\n" % ident(DOMAINS, [0xff]))
            if k < 42: return "unassign_control_domain", write(m + "/unassign_control_domain", "%d\\n" % ident(DOMAINS, []))
            if k < 46: return "ap_config", write(m + "/ap_config", "%s,%s,%s\\n" % (mask(subset(ADAPTERS)), mask(subset(DOMAINS)), mask(subset(DOMAINS))))
            if k < 53: return "create", write(CREATE, u + "\\n")
            if k < 57: return "remove", write(m + "/remove", "1\\n")
            if k < 63: return "apmask", write(root + "/bus/ap/apmask", rnd.choice("+-") + str(rnd.choice(ADAPTERS)) + "\\n")
            if k < 69: return "aqmask", write(root + "/bus/ap/aqmask", rnd.choice("+-") + str(rnd.choice(DOMAINS)) + "\\n")
            q = "%02x.%04x\\n" % (rnd.choice(ADAPTERS), rnd.choice(DOMAINS))
            d = rnd.choice(["vfio_ap", "cex4queue"])
            if k < 74: return "bind", write(root + "/bus/ap/drivers/" + d + "/bind", q)
            if k < 79: return "unbind", write(root + "/bus/ap/drivers/" + d + "/unbind", q)
            if k < 85: return "guest_start", control("guest start %s %s%s" % (g, u, rnd.choice(["", " --paused"])))
            if k < 88: return "guest_stop", control("guest stop " + g)
            if k < 90: return "guest_pause", control("guest pause " + g)
            if k < 92: return "guest_resume", control("guest resume " + g)
            if k < 98: return "set_state", control("mdev set-state %s %s" % (u, rnd.choice(STATES)))
            if k < 99: return "read_stream", control("mdev read %s 4096" % u)
            return "close_fd", control("mdev close-fd " + u)

        counts = {}
        for n in range(int(count)):
            kind, result = op()
            counts.setdefault(kind, {}).setdefault(result, 0)
            counts[kind][result] += 1
            if n % 50 == 49:
                with open(out + ".progress", "w") as f:
                    f.write(str(n + 1))
        with open(out, "w") as f:
            json.dump(counts, f)
        """
}
