import Foundation
import Glibc
import TestSupport
import XCTest

/// A migration whose other side dies mid-stream (issue 10, fault tests):
/// the host process is SIGKILLed at an exact request of `migrate` (a
/// `ControlProxy` stands in front of its control socket). The host that is
/// left recovers as libvirt and QEMU make it: the guest keeps running on
/// the source with its device RUNNING, or the destination drops the
/// incoming guest and closes its device; both can migrate again.
final class PeerDeathTests: LabTestCase {
    let u = exampleUUID

    /// Starts `real` and a proxy named `name` in front of it that SIGKILLs
    /// `real` at the `n`-th request starting with `prefix`.
    func hostBehindProxy(_ name: String, real: String, topology: String, killAt prefix: String, n: Int) throws -> (MountFixture, ControlProxy) {
        let host = try lab.start(real, topology: Paths.topology(topology))
        var count = 0
        let proxy = try ControlProxy(path: lab.runtimeDir + "/\(name).sock", target: lab.runtimeDir + "/\(real).sock") { request in
            guard request.hasPrefix(prefix) else { return true }
            count += 1
            guard count == n else { return true }
            kill(host.pid, SIGKILL)
            let deadline = Date().addingTimeInterval(10)
            while host.isRunning && Date() < deadline { usleep(10_000) }
            return false
        }
        return (host, proxy)
    }

    func guestList(_ host: String) throws -> [String] { try guestList(host, file: #filePath, line: #line) }

    func testDestinationKilledMidStreamLeavesTheGuestRunningOnTheSource() throws {
        let src = try lab.start("src", topology: Paths.topology("migration-source.yaml"))
        let (dst, proxy) = try hostBehindProxy("dst", real: "dst-real", topology: "migration-target.yaml",
                                               killAt: "mdev write", n: 10)
        defer { proxy.stop() }
        try ok("guest", "start", "--host", "src", "g1", u)
        let logBefore = try lab.kernelLog("src")

        // One-byte writes: the destination dies after 9 of the 72 bytes.
        let r = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1", "--chunk", "1")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: operation failed: Lost connection to destination host\n")
        XCTAssertEqual(r.lines, ["== source host 'src' QEMU log", "initiating migration"])
        XCTAssertFalse(dst.isRunning, "the destination was killed")
        XCTAssertEqual(proxy.seen.filter { $0.hasPrefix("mdev write") }.count, 10)

        // The source: guest running, device RUNNING, no stream left open, queues in use.
        XCTAssertEqual(try guestList("src"), ["g1 running \(u)"])
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["RUNNING"])
        let save = try lab.cli("migration", "save", "--host", "src", u, lab.root + "/stream")
        XCTAssertEqual(save.status, 1)
        XCTAssertEqual(save.stderr, "vfio-ap-sim: Bad file descriptor\n", "the data fd was closed")
        for q in ["05.0004", "05.00ab", "06.0004", "06.00ab"] { XCTAssertEqual(src.queueStatus(q), "in use", q) }
        XCTAssertEqual(try lab.kernelLog("src"), logBefore, "nothing for the kernel to log")
        let guests = try lab.cli("guest", "list", "--host", "src")
        XCTAssertEqual(try TreeSnapshot(mountpoint: src.mountpoint, guestList: guests.stdout).violations, [])

        // The destination comes back (same name, same directory) and the guest migrates.
        proxy.stop()
        _ = try lab.start("dst", topology: Paths.topology("migration-target.yaml"))
        let again = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try guestList("dst"), ["g1 running \(u)"])
        XCTAssertEqual(try guestList("src"), [])
    }

    func testSourceKilledMidStreamDropsTheIncomingGuest() throws {
        let (src, proxy) = try hostBehindProxy("src", real: "src-real", topology: "migration-source.yaml",
                                               killAt: "mdev read", n: 1)
        defer { proxy.stop() }
        let dst = try lab.start("dst", topology: Paths.topology("migration-target.yaml"))
        try ok("guest", "start", "--host", "src", "g1", u)
        let dstLogBefore = try lab.kernelLog("dst")

        // The source dies as the destination waits in RESUMING for the stream.
        let r = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: End of file while reading data: Input/output error\n")
        XCTAssertEqual(r.lines, ["== source host 'src' QEMU log", "initiating migration",
                                 "== destination host 'dst' QEMU log", "initiating migration",
                                 "qemu-system-s390x: load of migration failed: Input/output error",
                                 "shutting down, reason=failed"])
        XCTAssertFalse(src.isRunning, "the source was killed")

        // The destination: no guest, the mdev closed (no migration state), queues assigned.
        XCTAssertEqual(try guestList("dst"), [])
        let state = try lab.cli("migration", "get-state", "--host", "dst", u)
        XCTAssertEqual(state.status, 1)
        XCTAssertEqual(state.stderr, "vfio-ap-sim: Bad file descriptor\n", "the device is not open")
        for q in ["05.0004", "05.00ab", "06.0004", "06.00ab"] { XCTAssertEqual(dst.queueStatus(q), "assigned", q) }
        XCTAssertEqual(dst.read("devices/vfio_ap/matrix/\(u)/guest_matrix"), "05.0004\n05.00ab\n06.0004\n06.00ab")
        XCTAssertEqual(try lab.kernelLog("dst"), dstLogBefore, "nothing for the kernel to log")
        let guests = try lab.cli("guest", "list", "--host", "dst")
        XCTAssertEqual(try TreeSnapshot(mountpoint: dst.mountpoint, guestList: guests.stdout).violations, [])

        // A new source host migrates its guest to the same destination.
        proxy.stop()
        _ = try lab.start("src", topology: Paths.topology("migration-source.yaml"))
        try ok("guest", "start", "--host", "src", "g1", u)
        let again = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try guestList("dst"), ["g1 running \(u)"])
    }
}
