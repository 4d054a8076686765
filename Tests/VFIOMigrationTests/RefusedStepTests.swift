import APCore
import TestSupport
import VFIOMigration
import XCTest

/// Neither an errno nor a lost peer: what a control socket's own refusal
/// ("ERR request too long") or an undecodable reply looks like to LiveMigration.
struct OtherFailure: Error, CustomStringConvertible {
    var description: String { "request too long" }
}

/// A peer whose `n`-th call of `operation` fails with `OtherFailure`; every
/// other call, before or after, works (the host is still there).
final class RefusingPeer: HookedPeer {
    let operation: String
    let n: Int
    private var calls = 0
    private(set) var refused = false

    init(_ inner: LocalPeer, refuses operation: String, call n: Int = 1) {
        self.operation = operation
        self.n = n
        super.init(inner)
    }

    override func before(_ name: String) throws {
        guard name == operation else { return }
        calls += 1
        if calls == n {
            refused = true
            throw OtherFailure()
        }
    }
}

/// LiveMigration when a step fails for a reason that is neither the
/// kernel's nor a lost host: libvirt cancels the migration, so the guest
/// runs on the source as before and the destination has no incoming guest.
final class RefusedStepTests: XCTestCase {
    let uuid = sourceUUID

    func hosts(sourcePaused: Bool = false) throws -> (source: GuestManager, destination: GuestManager) {
        let yaml = topologyYAML(adapters: [5, 6], domains: [4, 0xab])
        let source = GuestManager(host: try makeHost(yaml))
        let destination = GuestManager(host: try makeHost(yaml))
        try source.start("g1", mdevs: [uuid])
        if sourcePaused { try source.setPaused("g1", true) }
        return (source, destination)
    }

    /// Source: g1 in the state it had, device RUNNING, no data fd.
    /// Destination: no guest, the mdev closed but still there.
    /// A paused guest's device is in STOP, and stays so if the migration
    /// failed before it began (`device` .stop).
    func assertCancelled(_ s: GuestManager, _ d: GuestManager, paused: Bool = false, device: MigrationState = .running,
                         _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let g = try s.guest("g1")
        XCTAssertEqual(g.mdev, uuid, what, file: file, line: line)
        XCTAssertEqual(g.paused, paused, what, file: file, line: line)
        XCTAssertEqual(try s.devices.state(uuid), device, what, file: file, line: line)
        XCTAssertFalse(s.devices.hasFile(uuid), what, file: file, line: line)
        XCTAssertEqual(d.guests.map(\.name), [], what, file: file, line: line)
        XCTAssertFalse(d.devices.isOpen(uuid), what, file: file, line: line)
        XCTAssertTrue(try LocalPeer(d).mdevExists(uuid), what, file: file, line: line)
    }

    func testARefusedDestinationStepCancelsTheMigration() throws {
        // Chunks of 8 bytes: the 72-byte stream takes 9 writes.
        let steps: [(String, Int, String)] = [
            ("mdevExists", 1, "mdev lookup"), ("kernelLog", 1, "kernel log"), ("appendLog", 1, "QEMU log"),
            ("migrationFlags", 1, "migration flags"), ("setState RESUMING", 1, "set state RESUMING"),
            ("write", 1, "write"), ("write", 5, "write"), ("write", 9, "write"),
            ("closeFile", 1, "close data fd"), ("setPaused false", 1, "guest resume"),
        ]
        for (operation, n, step) in steps {
            let (s, d) = try hosts()
            let destination = RefusingPeer(LocalPeer(d), refuses: operation, call: n)
            var migration = LiveMigration(source: LocalPeer(s), destination: destination, guest: "g1")
            migration.chunkSize = 8
            let out = try migration.run()
            let what = "destination refused \(operation) #\(n)"
            XCTAssertTrue(destination.refused, what)
            XCTAssertFalse(out.succeeded, what)
            XCTAssertEqual(out.console, ["error: operation failed: job 'migration in' failed: host 'mig': \(step): request too long"], what)
            try assertCancelled(s, d, what)
        }
    }

    func testARefusedSourceStepCancelsTheMigration() throws {
        let steps: [(String, String)] = [
            ("migrationFlags", "migration flags"), ("appendLog", "QEMU log"), ("setPaused true", "guest pause"),
            ("setState STOP_COPY", "set state STOP_COPY"), ("read", "read"), ("setState STOP", "set state STOP"),
            ("closeFile", "close data fd"),
        ]
        for paused in [false, true] {
            for (operation, step) in steps where !(paused && operation == "setPaused true") {
                let (s, d) = try hosts(sourcePaused: paused)
                let source = RefusingPeer(LocalPeer(s), refuses: operation)
                let out = try LiveMigration(source: source, destination: LocalPeer(d), guest: "g1").run()
                let what = "source refused \(operation), paused \(paused)"
                XCTAssertTrue(source.refused, what)
                XCTAssertFalse(out.succeeded, what)
                XCTAssertEqual(out.console, ["error: operation failed: job 'migration out' failed: host 'mig': \(step): request too long"], what)
                // QEMU's notifier sets RUNNING only once the migration began.
                let device: MigrationState = paused && operation == "migrationFlags" ? .stop : .running
                try assertCancelled(s, d, paused: paused, device: device, what)
            }
        }
    }

    /// A started incoming guest is killed by libvirt: its QEMU log says so.
    func testTheDroppedIncomingGuestLogsItsTermination() throws {
        let (s, d) = try hosts()
        var migration = LiveMigration(source: RefusingPeer(LocalPeer(s), refuses: "read"), destination: LocalPeer(d), guest: "g1")
        migration.libvirtPID = 42
        let out = try migration.run()
        XCTAssertEqual(out.destinationQEMULog, ["initiating migration", "terminating on signal 15 from pid 42 (/usr/sbin/virtqemud)"])
        XCTAssertEqual(out.sourceQEMULog, ["initiating migration"])
        try assertCancelled(s, d, "source refused read")
    }

    /// Before anything started: only the message.
    func testARefusedGuestLookupChangesNothing() throws {
        let (s, d) = try hosts()
        let out = try LiveMigration(source: RefusingPeer(LocalPeer(s), refuses: "guestInfo"), destination: LocalPeer(d), guest: "g1").run()
        XCTAssertEqual(out.console, ["error: operation failed: job 'migration out' failed: host 'mig': guest info: request too long"])
        XCTAssertEqual(out.destinationQEMULog, [])
        try assertCancelled(s, d, "source refused guestInfo")
    }

    /// After the destination runs the guest the migration is done: a
    /// refused source stop is reported, the guest stays on the destination.
    func testARefusedSourceStopKeepsTheGuestOnTheDestination() throws {
        let (s, d) = try hosts()
        let out = try LiveMigration(source: RefusingPeer(LocalPeer(s), refuses: "stopGuest"), destination: LocalPeer(d), guest: "g1").run()
        XCTAssertFalse(out.succeeded)
        XCTAssertEqual(out.console, ["error: operation failed: job 'migration out' failed: host 'mig': guest stop: request too long"])
        XCTAssertFalse(try d.guest("g1").paused)
        XCTAssertEqual(try d.devices.state(uuid), .running)
    }
}
