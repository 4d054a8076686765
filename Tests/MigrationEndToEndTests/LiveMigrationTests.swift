import Foundation
import TestSupport
import XCTest

/// `vfio-ap-sim migrate` between two mounted hosts, for every row of the
/// vfio-ap.rst "Live guest migration failures due to AP configuration
/// errors" table and for the successful case: exit status, virsh's console
/// line (stderr), the QEMU and kernel log sections (stdout), and where the
/// guest runs afterwards.
final class LiveMigrationTests: LabTestCase {
    let u = exampleUUID
    let allQueues = ["05.0004", "05.00ab", "06.0004", "06.00ab"]

    /// migrate's stdout on a failed incoming load: the table's QEMU log lines
    /// around the destination kernel log lines (timestamps stripped).
    func expectedFailureReport(from: String, to: String, kernel: [String], pid: Int32) -> [String] {
        ["== source host '\(from)' QEMU log",
         "initiating migration",
         "qemu-system-s390x: Sibling indicated error 1",
         "== destination host '\(to)' kernel log"]
            + kernel.map { "vfio_ap_mdev \(u): \($0)" }
            + ["== destination host '\(to)' QEMU log",
               "initiating migration",
               "qemu-system-s390x: error while loading state section id 1(vfio)",
               "shutting down, reason=failed",
               "terminating on signal 15 from pid \(pid) (/usr/sbin/virtqemud)"]
    }

    /// stdout with the kernel-log section's timestamps checked and removed.
    func normalizedReport(_ r: ProcessResult, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        var inKernel = false
        var out: [String] = []
        for l in r.lines {
            if l.hasPrefix("== ") { inKernel = l.hasSuffix(" kernel log"); out.append(l); continue }
            out.append(inKernel ? Lab.stripTimestamps([l], file: file, line: line)[0] : l)
        }
        return out
    }

    /// `migrate` of g1 from src to dst fails in the destination's load with
    /// `reason` (the resume write's strerror, on virsh's console line), and
    /// stdout is the table's report around the destination kernel lines `kernel`.
    func assertLoadFails(_ reason: String, kernel: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try lab.cli(["migrate", "--from", "src", "--to", "dst", "--guest", "g1"], file: file, line: line)
        XCTAssertEqual(r.status, 1, file: file, line: line)
        XCTAssertEqual(r.stderr, "error: operation failed: job 'migration in' failed: load of migration failed: \(reason)\n",
                       file: file, line: line)
        XCTAssertEqual(normalizedReport(r, file: file, line: line),
                       expectedFailureReport(from: "src", to: "dst", kernel: kernel, pid: r.pid), file: file, line: line)
    }

    func assertStillOnSource(_ src: MountFixture, _ dst: String, guest: String = "g1", checkState: Bool = true,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try guestList(src.name), ["\(guest) running \(u)"], "the guest keeps running on the source", file: file, line: line)
        XCTAssertEqual(try guestList(dst), [], "no guest is left on the destination", file: file, line: line)
        XCTAssertEqual(src.queueStatus("05.0004"), "in use", file: file, line: line)
        if checkState {
            XCTAssertEqual(try ok("migration", "get-state", "--host", src.name, u, file: file, line: line), ["RUNNING"], file: file, line: line)
        }
    }

    func testCompatibleConfigurationsMigrateAndTheGuestRunsOnTheDestination() throws {
        let (src, dst) = try startMigrationHosts()
        try ok("guest", "start", "--host", "src", "g1", u)
        XCTAssertEqual(try guestList("src"), ["g1 running \(u)"])
        for q in allQueues {
            XCTAssertEqual(src.queueStatus(q), "in use", q)
            XCTAssertEqual(dst.queueStatus(q), "assigned", q)
        }
        let r = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.lines, ["Migration of guest 'g1' from 'src' to 'dst' completed"])

        XCTAssertEqual(try guestList("dst"), ["g1 running \(u)"])
        XCTAssertEqual(try guestList("src"), [])
        let show = try ok("guest", "show", "--host", "dst", "g1")
        XCTAssertEqual(show, [
            "guest: g1",
            "state: running",
            "mdev: \(u)",
            "APM: 0x0600000000000000000000000000000000000000000000000000000000000000",
            "AQM: 0x0800000000000000000000000000000000000000001000000000000000000000",
            "ADM: 0x0000000000000000000000000000000000000000000000000000000000000000",
            "CARD.DOMAIN TYPE  MODE        STATUS",
            "------------------------------------------",
            "05          CEX5C CCA-Coproc  online",
            "05.0004     CEX5C CCA-Coproc  online",
            "05.00ab     CEX5C CCA-Coproc  online",
            "06          CEX6A Accelerator online",
            "06.0004     CEX6A Accelerator online",
            "06.00ab     CEX6A Accelerator online",
        ])
        let gone = try lab.cli("guest", "show", "--host", "src", "g1")
        XCTAssertEqual(gone.status, 1)
        XCTAssertEqual(gone.stderr, "vfio-ap-sim: no guest named 'g1'\n")
        for q in allQueues {
            XCTAssertEqual(dst.queueStatus(q), "in use", "destination \(q)")
            XCTAssertEqual(src.queueStatus(q), "assigned", "source \(q)")
        }
        XCTAssertEqual(try ok("migration", "get-state", "--host", "dst", u), ["RUNNING"])
        // The destination's mdev is open by the guest: the guest matrix is the mdev's.
        XCTAssertEqual(dst.read("devices/vfio_ap/matrix/\(u)/guest_matrix"), "05.0004\n05.00ab\n06.0004\n06.00ab")
        XCTAssertFalse(try lab.kernelLog("dst").contains { $0.contains("igration") }, "no migration error on the destination")
    }

    func testMigrationWithOneByteWritesSucceeds() throws {
        _ = try startMigrationHosts()
        try ok("guest", "start", "--host", "src", "g1", u)
        let r = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1", "--chunk", "1")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try guestList("dst"), ["g1 running \(u)"])
    }

    func testMissingMdevOnTheDestination() throws {
        let (src, dst) = try startMigrationHosts(target: "migration-target-no-mdev.yaml")
        try ok("guest", "start", "--host", "src", "g1", u)
        let r = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: device not found: mediated device '\(u)' not found\n")
        XCTAssertEqual(r.stdout, "", "the table lists no QEMU or kernel log for this row")
        try assertStillOnSource(src, "dst")
        XCTAssertEqual(try ok("guest", "log", "--host", "src", "g1"), [], "the migration never started")
        _ = dst
    }

    func testSourceGuestNotEnabledForMigration() throws {
        let (src, dst) = try startMigrationHosts()
        try ok("guest", "start", "--host", "src", "--migration", "off", "g1", u)
        let r = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: Requested operation is not valid: cannot migrate domain: \(u): Migration is disabled for VFIO device\n")
        XCTAssertEqual(r.stdout, "")
        try assertStillOnSource(src, "dst")
        XCTAssertEqual(dst.queueStatus("05.0004"), "assigned", "the destination never opened its mdev")
    }

    /// libvirt's Begin phase (the source's blockers) comes before the
    /// destination's Prepare (the mdev lookup).
    func testBlockersAreCheckedBeforeTheDestinationMdev() throws {
        _ = try startMigrationHosts(target: "migration-target-no-mdev.yaml")
        try ok("guest", "start", "--host", "src", "--migration", "off", "g1", u)
        let r = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: Requested operation is not valid: cannot migrate domain: \(u): Migration is disabled for VFIO device\n")
    }

    /// enable-migration=off: QEMU registers no run-state handler, so pausing
    /// the VM sends no SET.
    func testPausingAGuestWithMigrationOffLeavesTheDeviceRunning() throws {
        _ = try startMigrationHosts()
        try ok("guest", "start", "--host", "src", "--migration", "off", "g1", u)
        try ok("guest", "pause", "--host", "src", "g1")
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["RUNNING"])
        XCTAssertEqual(try guestList("src"), ["g1 paused \(u)"])
    }

    /// A paused guest stays paused: after a failed migration on the source
    /// (its device back to RUNNING by QEMU's notifier), after a successful
    /// one on the destination (its device left in RESUMING).
    func testAPausedGuestStaysPaused() throws {
        let (_, dst) = try startMigrationHosts()
        XCTAssertNil(dst.write("devices/ap/card05/05.0004/hwinfo", "0x728000000bff0007"))
        try ok("guest", "start", "--host", "src", "g1", u)
        try ok("guest", "pause", "--host", "src", "g1")
        XCTAssertEqual(try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1").status, 1)
        XCTAssertEqual(try guestList("src"), ["g1 paused \(u)"])
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["RUNNING"])

        XCTAssertNil(dst.write("devices/ap/card05/05.0004/hwinfo", "0xf28000000bff0007"))
        XCTAssertEqual(try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1").status, 0)
        XCTAssertEqual(try guestList("dst"), ["g1 paused \(u)"])
        XCTAssertEqual(try ok("migration", "get-state", "--host", "dst", u), ["RESUMING"])
        try ok("guest", "resume", "--host", "dst", "g1")
        XCTAssertEqual(try ok("migration", "get-state", "--host", "dst", u), ["RUNNING"])
    }

    func testIncompatibleHardwareAPSCMissingOnTheTarget() throws {
        let (src, dst) = try startMigrationHosts()
        XCTAssertEqual(dst.read("devices/ap/card05/05.0004/hwinfo"), "0xf28000000bff0007")
        XCTAssertNil(dst.write("devices/ap/card05/05.0004/hwinfo", "0x728000000bff0007\n"))
        XCTAssertEqual(dst.read("devices/ap/card05/05.0004/ap_functions"), "0x72800000")
        try ok("guest", "start", "--host", "src", "g1", u)
        let kernelBefore = try lab.kernelLog("dst").count
        let kernel = [
            "Migration failed: Source and target queue (05.0004) not compatible",
            "APSC facility installed in source queue 05.0004",
            "APSC facility not installed in target queue 05.0004",
        ]
        try assertLoadFails("Bad address", kernel: kernel)
        XCTAssertEqual(Array(try lab.kernelLog("dst").dropFirst(kernelBefore)), kernel.map { "vfio_ap_mdev \(u): \($0)" })
        XCTAssertEqual(try ok("guest", "log", "--host", "src", "g1"),
                       ["initiating migration", "qemu-system-s390x: Sibling indicated error 1"])
        try assertStillOnSource(src, "dst")
    }

    func testIncompatibleHardwareOlderAPTypeOnTheTarget() throws {
        // CEX6 accelerator (type 0x0c) on the source, CEX5 (0x0b) on the target.
        let src = try lab.start("src", topology: Paths.topology("migration-target.yaml"))
        _ = try lab.start("dst", topology: Paths.topology("migration-source.yaml"))
        try ok("guest", "start", "--host", "src", "g1", u)
        try assertLoadFails("Bad address", kernel: [
            "Migration failed: Source and target queue (06.0004) not compatible",
            "AP type of source (0c) not compatible with target (0b)",
        ])
        try assertStillOnSource(src, "dst")
    }

    func testIncompatibleHardwareModeAndClassLines() throws {
        let (src, dst) = try startMigrationHosts()
        // 06.00ab on the target: XCP (EP11) mode instead of accelerator, stateless only, no APXA.
        XCTAssertNil(dst.write("devices/ap/card06/06.00ab/hwinfo", "0xe44000000cff0007"))
        try ok("guest", "start", "--host", "src", "g1", u)
        try assertLoadFails("Bad address", kernel: [
            "Migration failed: Source and target queue (06.00ab) not compatible",
            "Accelerator-mode facility installed source queue 06.00ab",
            "Accelerator-mode facility not installed target queue 06.00ab",
            "XCP-mode facility not installed source queue 06.00ab",
            "XCP-mode facility installed target queue 06.00ab",
            "AP-extended-addressing (APXA) facility installed in source queue 06.00ab",
            "AP-extended-addressing (APXA) facility not installed in target queue 06.00ab",
            "Full native card function available on source queue 06.00ab",
            "Only stateless functions available on target queue 06.00ab",
        ])
        try assertStillOnSource(src, "dst")
    }

    func testSourceWithMoreAPQNsThanTheDestination() throws {
        let (src, dst) = try startMigrationHosts()
        XCTAssertNil(dst.write("devices/vfio_ap/matrix/\(u)/unassign_domain", "0xab\n"))
        try ok("guest", "start", "--host", "src", "g1", u)
        XCTAssertEqual(try ok("migration", "data-size", "--host", "src", u), ["72"])
        // vfio-ap.rst prints "operation f1e166ee77e6failed" here: a typo in the patch.
        try assertLoadFails("Input/output error", kernel: [
            "migration failed: source guest's AP config size (72) larger than target's (40)",
        ])
        try assertStillOnSource(src, "dst")
    }

    func testSourceWithFewerAPQNsThanTheDestination() throws {
        let (src, _) = try startMigrationHosts()
        XCTAssertNil(src.write("devices/vfio_ap/matrix/\(u)/unassign_domain", "0xab\n"))
        try ok("guest", "start", "--host", "src", "g1", u)
        XCTAssertEqual(try ok("migration", "data-size", "--host", "src", u), ["40"])
        try assertLoadFails("No such device", kernel: [
            "migration failed: number of queues on source (2) and target (4) guests differ",
        ])
        XCTAssertEqual(try guestList("src"), ["g1 running \(u)"])
        XCTAssertEqual(try guestList("dst"), [])
    }

    /// A kernel without the series (`features` without `migratable`): the
    /// device has no migration feature (ENOTTY), as docs/FIDELITY.md describes.
    func testKernelWithoutTheSeries() throws {
        let text = try String(contentsOfFile: Paths.topology("migration-source.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "machine:\n", with: "vfio_ap:\n  features: [guest_matrix, hotplug, ap_config]\n\nmachine:\n")
        let old = try lab.start("old", topology: try lab.topologyFile("old.yaml", text))
        _ = try lab.start("dst", topology: Paths.topology("migration-target.yaml"))
        XCTAssertEqual(old.read("devices/vfio_ap/matrix/features"), "guest_matrix hotplug ap_config")

        // enable-migration=on: QEMU's realize fails (vfio_migration_realize, ENOTTY).
        let on = try lab.cli("guest", "start", "--host", "old", "--migration", "on", "g1", u)
        XCTAssertEqual(on.status, 1)
        XCTAssertEqual(on.stderr, "vfio-ap-sim: vfio \(u): \(u): VFIO migration is not supported in kernel\n")
        XCTAssertEqual(try guestList("old"), [])
        try fail("migration", "flags", "--host", "old", u, message: "Bad file descriptor")

        // auto: the guest runs; QEMU's blocker makes libvirt refuse the migration.
        try ok("guest", "start", "--host", "old", "g1", u)
        try fail("migration", "flags", "--host", "old", u, message: "Inappropriate ioctl for device")
        // No mig_ops: ENOTTY before the state word is looked at.
        for state in ["STOP", "8", "4294967295"] {
            try fail("migration", "set-state", "--host", "old", u, state, message: "Inappropriate ioctl for device")
        }
        let r = try lab.cli("migrate", "--from", "old", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: Requested operation is not valid: cannot migrate domain: \(u): VFIO migration is not supported in kernel\n")
        XCTAssertEqual(r.stdout, "")
        try assertStillOnSource(old, "dst", checkState: false)
    }

    func fail(_ args: String..., message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try lab.cli(args, file: file, line: line)
        XCTAssertEqual(r.status, 1, file: file, line: line)
        XCTAssertEqual(r.stderr, "vfio-ap-sim: \(message)\n", file: file, line: line)
    }

    func testAFailedMigrationCanBeRetriedOnceTheConfigurationIsFixed() throws {
        let (_, dst) = try startMigrationHosts()
        XCTAssertNil(dst.write("devices/vfio_ap/matrix/\(u)/unassign_domain", "0xab\n"))
        try ok("guest", "start", "--host", "src", "g1", u)
        XCTAssertEqual(try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1").status, 1)
        XCTAssertNil(dst.write("devices/vfio_ap/matrix/\(u)/assign_domain", "0xab\n"))
        let r = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try guestList("dst"), ["g1 running \(u)"])
        XCTAssertEqual(try guestList("src"), [])
    }
}
