import APCore
import SystemPackage
import TestSupport
import VFIOMigration
import XCTest

/// A peer that works until its `n`-th call of `operation`, then is gone:
/// that call and every later one throw `PeerUnreachable` (a host killed in
/// the middle of a migration).
final class DyingPeer: HookedPeer {
    let operation: String
    let n: Int
    private var calls = 0
    private(set) var dead = false

    init(_ inner: LocalPeer, diesAt operation: String, call n: Int = 1) {
        self.operation = operation
        self.n = n
        super.init(inner)
    }

    override func before(_ name: String) throws {
        if !dead && name == operation {
            calls += 1
            if calls == n { dead = true }
        }
        if dead { throw PeerUnreachable(self, reason: "host '\(hostName)' is gone") }
    }
}

/// LiveMigration when a peer is lost at each step of the protocol: the
/// side that is left ends as libvirt and QEMU leave it.
final class PeerLossTests: XCTestCase {
    let uuid = sourceUUID

    /// Two hosts with the same mdev, g1 running on the source.
    func hosts() throws -> (source: GuestManager, destination: GuestManager) {
        let yaml = topologyYAML(adapters: [5, 6], domains: [4, 0xab])
        let source = GuestManager(host: try makeHost(yaml))
        let destination = GuestManager(host: try makeHost(yaml))
        try source.start("g1", mdevs: [uuid])
        return (source, destination)
    }

    /// The source after a lost destination: g1 running, device RUNNING, no data fd.
    func assertSourceRecovered(_ s: GuestManager, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let g = try s.guest("g1")
        XCTAssertEqual(g.mdev, uuid, what, file: file, line: line)
        XCTAssertFalse(g.paused, what, file: file, line: line)
        XCTAssertEqual(try s.devices.state(uuid), .running, what, file: file, line: line)
        XCTAssertFalse(s.devices.hasFile(uuid), what, file: file, line: line)
    }

    func testLostDestinationAtEveryStepLeavesTheSourceRunning() throws {
        // Write chunks of 8 bytes: the 72-byte stream takes 9 writes.
        let steps: [(String, Int)] = [("kernelLog", 1), ("startGuest", 1), ("appendLog", 1), ("migrationFlags", 1),
                                      ("setState RESUMING", 1), ("write", 1), ("write", 5), ("write", 9),
                                      ("closeFile", 1), ("setPaused false", 1)]
        for (operation, n) in steps {
            let (s, d) = try hosts()
            let destination = DyingPeer(LocalPeer(d), diesAt: operation, call: n)
            var migration = LiveMigration(source: LocalPeer(s), destination: destination, guest: "g1")
            migration.chunkSize = 8
            let out = try migration.run()
            let what = "destination lost at \(operation) #\(n)"
            XCTAssertTrue(destination.dead, what)
            XCTAssertFalse(out.succeeded, what)
            XCTAssertEqual(out.console, ["error: operation failed: Lost connection to destination host"], what)
            XCTAssertEqual(out.destinationQEMULog, [], what)
            try assertSourceRecovered(s, what)
        }
    }

    func testLostSourceBeforeTheStreamEndsDropsTheIncomingGuest() throws {
        for operation in ["dataSize", "setPaused true", "setState STOP_COPY", "read", "setState STOP", "closeFile"] {
            let (s, d) = try hosts()
            let source = DyingPeer(LocalPeer(s), diesAt: operation)
            let out = try LiveMigration(source: source, destination: LocalPeer(d), guest: "g1").run()
            let what = "source lost at \(operation)"
            XCTAssertTrue(source.dead, what)
            XCTAssertFalse(out.succeeded, what)
            XCTAssertEqual(out.console, ["error: End of file while reading data: Input/output error"], what)
            XCTAssertEqual(out.destinationQEMULog, ["initiating migration",
                                                    "qemu-system-s390x: load of migration failed: Input/output error",
                                                    "shutting down, reason=failed"], what)
            XCTAssertEqual(d.guests.map(\.name), [], what)
            XCTAssertFalse(d.devices.isOpen(uuid), what)
            XCTAssertTrue(try LocalPeer(d).mdevExists(uuid), what)
        }
    }

    /// Lost after the destination runs the guest (libvirt's Confirm on the
    /// source never comes): the guest stays on the destination.
    func testLostSourceAfterTheDestinationRunsKeepsTheGuestThere() throws {
        let (s, d) = try hosts()
        let source = DyingPeer(LocalPeer(s), diesAt: "stopGuest")
        let out = try LiveMigration(source: source, destination: LocalPeer(d), guest: "g1").run()
        XCTAssertFalse(out.succeeded)
        XCTAssertEqual(out.console, ["error: End of file while reading data: Input/output error"])
        XCTAssertEqual(try d.guest("g1").mdev, uuid)
        XCTAssertFalse(try d.guest("g1").paused)
        XCTAssertEqual(try d.devices.state(uuid), .running)
    }
}
