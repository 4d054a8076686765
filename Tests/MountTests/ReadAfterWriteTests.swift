import Foundation
import TestSupport
import XCTest

/// With the kernel's caches on, nothing is ever stale: after each write
/// (or guest operation) returns, three other long-lived processes read
/// every attribute it affected and see the new text; removed objects
/// vanish at once (ENOENT, ENODEV for fds opened before), created ones
/// appear at once.
final class ReadAfterWriteTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    private var fixtures: [MountFixture] = []
    override func tearDown() { for f in fixtures { f.cleanUp() } }

    func testNoReaderSeesStaleText() throws { try check(cache: "names") }
    func testNoReaderSeesStaleTextWithThePageCache() throws { try check(cache: "pages") }
    /// Opens stay in the kernel too; writes go through the page cache, and
    /// apmask, read by every reader before each write, is a cached page the
    /// write copies into.
    func testNoReaderSeesStaleTextWithoutOpens() throws { try check(cache: "no-open") }

    func check(cache: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let f = try MountFixture(name: "raw-\(cache)")
        fixtures.append(f)
        try f.start(extraArguments: ["--kernel-cache", cache])
        let u = Expected.uuid1
        let script = """
            import os, sys, subprocess, errno, multiprocessing as mp
            S = sys.argv[1]; CLI = sys.argv[2]; RT = sys.argv[3]; HOST = sys.argv[4]
            M = S + "/devices/vfio_ap/matrix/"; U = "\(u)"; T = M + "mdev_supported_types/vfio_ap-passthrough/"
            def look(p):
                if "ls:" in p:
                    try: return " ".join(sorted(os.listdir(p.replace("ls:", ""))))
                    except OSError as e: return errno.errorcode[e.errno]
                try:
                    if os.path.islink(p): return "-> " + os.readlink(p).split("/")[-1]
                    if os.path.isdir(p): return "dir"
                    with open(p) as f: return f.read()
                except OSError as e: return errno.errorcode[e.errno]
            def reader(conn):
                held = None
                while True:
                    msg = conn.recv()
                    if msg is None: return
                    if msg == "hold":
                        held = os.open(M + U + "/matrix", os.O_RDONLY); os.read(held, 4096); conn.send("held"); continue
                    if msg == "held?":
                        try: os.pread(held, 4096, 0); conn.send("read")
                        except OSError as e: conn.send(errno.errorcode[e.errno])
                        continue
                    conn.send({p: look(S + p) for p in msg})
            readers = []
            for i in range(3):
                a, b = mp.Pipe(); p = mp.Process(target=reader, args=(b,)); p.start(); readers.append((p, a))
            paths = ["/bus/ap/apmask", "/bus/ap/aqmask", "/bus/ap/bindings", "/devices/ap/card05/05.0004/driver",
                     "/devices/ap/card05/05.0004/status", "/devices/ap/card05/05.0004/online",
                     "/devices/ap/card05/05.00ab/status", "/devices/ap/card05/serialnr",
                     "/devices/vfio_ap/matrix/" + U, "/devices/vfio_ap/matrix/" + U + "/matrix",
                     "/devices/vfio_ap/matrix/" + U + "/guest_matrix", "/bus/mdev/devices/" + U,
                     "/kernel/iommu_groups/0", "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/available_instances"]
            # Listings too: the kernel keeps what readdir returned (no_opendir
            # gives every directory FOPEN_CACHE_DIR) until it is told.
            dirs = ["/bus/ap/devices", "/bus/ap/drivers/vfio_ap", "/bus/ap/drivers/cex4queue", "/devices/ap",
                    "/devices/ap/card05", "/devices/ap/card05/05.0004", "/devices/vfio_ap/matrix",
                    "/devices/vfio_ap/matrix/" + U, "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/devices",
                    "/bus/mdev/devices", "/kernel/iommu_groups", "/class/vfio-dev"]
            listed = ["ls:" + d for d in dirs]
            # What each directory holds, asked name by name (lookups, which
            # the tests above show are never stale): every name any listing
            # ever showed, and the ones the steps make.
            candidates = {d: set([U, "05.0004", "05.00ab", "06.0004", "card05", "0", "1", "vfio0", "driver", "online",
                                  "status", "load", "mkvps", "op_modes"]) for d in listed}
            def listing_truth(d):
                path = S + d[3:]
                if not os.path.isdir(path): return "ENOENT"
                return " ".join(sorted(n for n in candidates[d] if os.path.lexists(path + "/" + n)))
            def w(p, v):
                fd = os.open(S + p, os.O_WRONLY); os.write(fd, v.encode()); os.close(fd)
            def cli(*a): subprocess.run([CLI, *a, "--host", HOST, "--runtime-dir", RT], check=True, capture_output=True)
            steps = [("apmask", lambda: w("/bus/ap/apmask", "-5,-6")),
                     ("aqmask", lambda: w("/bus/ap/aqmask", "-4,-0xab")),
                     ("create", lambda: w(T[len(S):] + "create", U)),
                     ("assign", lambda: (w(M[len(S):] + U + "/assign_adapter", "5"), w(M[len(S):] + U + "/assign_domain", "4"))),
                     ("start", lambda: cli("guest", "start", "g1", U)),
                     ("hotplug", lambda: w(M[len(S):] + U + "/assign_domain", "0xab")),
                     ("stop", lambda: cli("guest", "stop", "g1")),
                     ("hold", None),
                     ("remove", lambda: w(M[len(S):] + U + "/remove", "1")),
                     ("held?", None),
                     ("apmask back", lambda: w("/bus/ap/apmask", "+5,+6"))]
            # Every reader reads everything once first, so the caches are warm.
            for _, c in readers: c.send(paths + listed); c.recv()
            def learn(seen):
                for d in listed:
                    if not seen[d].startswith("E"): candidates[d].update(seen[d].split())
            for name, act in steps:
                if act is None:
                    for _, c in readers: c.send(name)
                    print(name, sorted(set(c.recv() for _, c in readers)))
                    continue
                act()
                seen = [c.recv() for _, c in readers if c.send(paths + listed) or True]
                for s in seen: learn(s)
                truth = {p: look(S + p) for p in paths}
                truth.update({d: listing_truth(d) for d in listed})
                for s in seen:
                    for p in paths + listed:
                        if s[p] != truth[p]: print("STALE", name, p, repr(s[p]), repr(truth[p]))
                print(name, " ".join(repr(truth[p]) for p in paths))
            # The listings did change on the way (so the check above can fail).
            print("listings", len(set(tuple(sorted(c)) for c in candidates.values())), sum(len(c) for c in candidates.values()))
            for p, c in readers: c.send(None); p.join()
            """
        let r = try ProcessRunner.run(["/usr/bin/python3", "-c", script, f.mountpoint, Simulator.binary, f.runtimeDir, f.name],
                                      timeout: 60, file: file, line: line)
        XCTAssertEqual(r.stderr, "", file: file, line: line)
        XCTAssertFalse(r.stdout.contains("STALE"), r.stdout, file: file, line: line)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 12, r.stdout, file: file, line: line)
        func step(_ name: String) -> String { lines.first { $0.hasPrefix(name + " ") } ?? "" }
        XCTAssertTrue(step("apmask").contains("'-> vfio_ap' 'unassigned\\n' 'ENOENT'"), step("apmask"), file: file, line: line)
        XCTAssertTrue(step("create").contains("'dir' '' '' '-> \(u)' 'dir' '65535\\n'"), step("create"), file: file, line: line)
        XCTAssertTrue(step("assign").contains("'assigned\\n' 'ENOENT' 'unassigned\\n'"), step("assign"), file: file, line: line)
        XCTAssertTrue(step("start").contains("'in use\\n'"), step("start"), file: file, line: line)
        XCTAssertTrue(step("hotplug").contains("'05.0004\\n05.00ab\\n' '05.0004\\n05.00ab\\n'"), step("hotplug"), file: file, line: line)
        XCTAssertTrue(step("stop").contains("'assigned\\n' 'ENOENT' 'assigned\\n'"), step("stop"), file: file, line: line)
        XCTAssertEqual(step("held?"), "held? ['ENODEV']", file: file, line: line)
        XCTAssertTrue(step("remove").hasSuffix("'ENOENT' 'ENOENT' 'ENOENT' 'ENOENT' 'ENOENT' '65536\\n'"), step("remove"), file: file, line: line)
        // aqmask still gives domains 4 and 0xab to vfio_ap.
        XCTAssertTrue(step("apmask back").hasPrefix("apmask back '0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\\n'"), step("apmask back"), file: file, line: line)
        XCTAssertTrue(step("apmask back").contains("'-> vfio_ap' 'unassigned\\n' 'ENOENT' 'unassigned\\n' '93AADFK7\\n'"), step("apmask back"), file: file, line: line)
    }
}
