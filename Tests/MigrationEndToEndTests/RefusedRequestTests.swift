import Foundation
import TestSupport
import XCTest

/// A migration whose destination host refuses one request for a reason of
/// its own control socket, not the kernel's (a proxy answers `ERR request
/// too long` in its place). Both hosts stay up: libvirt cancels the
/// migration, the guest keeps running on the source, the destination drops
/// the incoming guest, and the same migration works afterwards.
final class RefusedRequestTests: LabTestCase {
    let u = exampleUUID

    func testARefusedWriteCancelsTheMigration() throws {
        let src = try lab.start("src", topology: Paths.topology("migration-source.yaml"))
        let dst = try lab.start("dst-real", topology: Paths.topology("migration-target.yaml"))
        // Only the 10th write is refused; the proxy runs on the test's threads.
        let lock = NSLock()
        var writes = 0
        let proxy = try ControlProxy(path: lab.runtimeDir + "/dst.sock", target: lab.runtimeDir + "/dst-real.sock",
                                     answer: { request in
            guard request.hasPrefix("mdev write") else { return nil }
            lock.lock()
            defer { lock.unlock() }
            writes += 1
            return writes == 10 ? "ERR request too long\n" : nil
        })
        defer { proxy.stop() }
        try ok("guest", "start", "--host", "src", "g1", u)
        let dstLogBefore = try lab.kernelLog("dst-real")

        let r = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1", "--chunk", "1")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: operation failed: job 'migration in' failed: host 'dst': write: request too long\n")
        XCTAssertEqual(Array(r.lines.prefix(4)), ["== source host 'src' QEMU log", "initiating migration",
                                                 "== destination host 'dst' QEMU log", "initiating migration"])
        XCTAssertEqual(r.lines.count, 5, "\(r.lines)")
        XCTAssertTrue(r.lines.last?.hasPrefix("terminating on signal 15 from pid ") == true, "\(r.lines)")
        XCTAssertTrue(dst.isRunning)

        // The source: guest running, device RUNNING, its data fd closed.
        XCTAssertEqual(try guestList("src"), ["g1 running \(u)"])
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["RUNNING"])
        let save = try lab.cli("migration", "save", "--host", "src", u, lab.root + "/stream")
        XCTAssertEqual(save.status, 1)
        XCTAssertEqual(save.stderr, "vfio-ap-sim: Bad file descriptor\n", "the data fd was closed")
        for q in ["05.0004", "05.00ab", "06.0004", "06.00ab"] { XCTAssertEqual(src.queueStatus(q), "in use", q) }

        // The destination: no guest, the device closed, nothing logged.
        XCTAssertEqual(try guestList("dst-real"), [])
        let state = try lab.cli("migration", "get-state", "--host", "dst-real", u)
        XCTAssertEqual(state.stderr, "vfio-ap-sim: Bad file descriptor\n", "the device is not open")
        XCTAssertEqual(try lab.kernelLog("dst-real"), dstLogBefore)

        // Nothing is left over: the same migration now succeeds.
        let again = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try guestList("dst-real"), ["g1 running \(u)"])
        XCTAssertEqual(try guestList("src"), [])
    }
}
