import TestSupport
import XCTest

/// Many writers at once (the kernel serialises them with `ap_attr_mutex` and
/// `matrix_dev->mdevs_lock`): each write gets a kernel errno or succeeds, and
/// the state they leave obeys the rules — no APQN in two mdevs, no mdev APQN
/// reserved for the host, every queue bound to the driver its masks choose.
final class ConcurrentWritersTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    func testConcurrentAssignmentsAndMaskEditsKeepTheRules() throws {
        let r = try Simulator.python("""
            import threading, random, errno
            S = "/sys"
            M = S + "/devices/vfio_ap/matrix/"
            T = M + "mdev_supported_types/vfio_ap-passthrough/create"
            uuids = ["%08x-0000-4000-8000-000000000000" % i for i in range(1, 7)]
            for u in uuids:
                open(T, "w").write(u)
            ok = {"EADDRINUSE", "EADDRNOTAVAIL", "EBUSY"}
            bad = []
            def write(p, v):
                try:
                    fd = os.open(p, os.O_WRONLY)
                    try:
                        os.write(fd, v.encode())
                    finally:
                        os.close(fd)
                except OSError as x:
                    name = errno.errorcode[x.errno]
                    if name not in ok:
                        bad.append((p, v, name))
            def mdev_worker(u, seed):
                rnd = random.Random(seed)
                for _ in range(150):
                    attr = rnd.choice(["assign_adapter", "unassign_adapter", "assign_domain", "unassign_domain"])
                    value = rnd.choice(["5", "6", "4", "0x47", "0xab", "0xff"])
                    write(M + u + "/" + attr, value)
            def mask_worker(seed):
                rnd = random.Random(seed)
                for _ in range(100):
                    f = rnd.choice(["apmask", "aqmask"])
                    v = rnd.choice(["-5", "+5", "-6", "+6"] if f == "apmask" else ["-4", "+4", "-0x47", "+0x47", "-0xab", "+0xab", "-0xff", "+0xff"])
                    write(S + "/bus/ap/" + f, v)
            threads = [threading.Thread(target=mdev_worker, args=(u, i)) for i, u in enumerate(uuids)]
            threads += [threading.Thread(target=mask_worker, args=(100 + i,)) for i in range(2)]
            for t in threads: t.start()
            for t in threads: t.join()
            print("unexpected errors:", bad[:5])
            def ids(text):
                return [int(x, 16) for x in text.split() if x]
            def mask_ids(m):
                v = int(m, 16)
                return {i for i in range(256) if v & (1 << (255 - i))}
            apmask = mask_ids(open(S + "/bus/ap/apmask").read())
            aqmask = mask_ids(open(S + "/bus/ap/aqmask").read())
            owner = {}
            problems = []
            for u in uuids:
                lines = open(M + u + "/matrix").read().split()
                apm, aqm, adm = [mask_ids(x) for x in open(M + u + "/ap_config").read().strip().split(",")]
                expected = sorted("%02x.%04x" % (a, d) for a in apm for d in aqm)
                if apm and aqm and sorted(lines) != expected:
                    problems.append(("matrix vs ap_config", u))
                for a in apm:
                    for d in aqm:
                        if (a, d) in owner:
                            problems.append(("shared", a, d, owner[(a, d)], u))
                        owner[(a, d)] = u
                        if a in apmask and d in aqmask:
                            problems.append(("host-reserved", a, d, u))
            for card in (5, 6):
                for dom in (0x04, 0x47, 0xab, 0xff):
                    link = os.readlink(S + "/devices/ap/card%02x/%02x.%04x/driver" % (card, card, dom))
                    want = "cex4queue" if card in apmask and dom in aqmask else "vfio_ap"
                    if not link.endswith("/" + want):
                        problems.append(("binding", card, dom, link))
                    if want == "vfio_ap":
                        status = open(S + "/devices/ap/card%02x/%02x.%04x/status" % (card, card, dom)).read()
                        expect = "assigned\\n" if (card, dom) in owner else "unassigned\\n"
                        if status != expect:
                            problems.append(("status", card, dom, status))
            print("problems:", problems[:5])
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "unexpected errors: []\nproblems: []\n", r.stderr)
    }
}
