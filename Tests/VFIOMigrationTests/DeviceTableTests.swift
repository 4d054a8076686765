import APCore
import SystemPackage
import TestSupport
import VFIOMigration
import XCTest

/// The v2 driver (patches 04, 05, 12–14) through the device feature ioctls
/// of `VFIODeviceTable` on a built host.
final class DeviceTableTests: XCTestCase {
    typealias S = MigrationState

    func rig(adapters: [Int] = [5, 6], domains: [Int] = [4, 0xab], secureExecution: Bool = false,
             migratable: Bool = true, open: Bool = true) throws -> Rig {
        try Rig(adapters: adapters, domains: domains, secureExecution: secureExecution, migratable: migratable, open: open)
    }

    func testFlagsAndInitialState() throws {
        let r = try rig()
        XCTAssertEqual(try r.table.migrationFlags(r.uuid), .stopCopy)
        XCTAssertEqual(try r.table.migrationFlags(r.uuid).rawValue, 1)
        XCTAssertEqual(try r.table.state(r.uuid), .running)
        XCTAssertFalse(r.table.hasFile(r.uuid))
        XCTAssertTrue(r.table.isOpen(r.uuid))
    }

    func testRunningToStopCopyGivesStopCopyAndAFile() throws {
        let r = try rig()
        XCTAssertTrue(try r.table.setState(r.uuid, .stopCopy))
        XCTAssertEqual(try r.table.state(r.uuid), .stopCopy)
        XCTAssertTrue(r.table.hasFile(r.uuid))
    }

    /// The state after each SET is the target; a data file comes back
    /// exactly when the last arc enters STOP_COPY or RESUMING.
    func testStatesAfterEveryArc() throws {
        let r = try rig()
        let steps: [(S, Bool)] = [
            (.stop, false), (.running, false), (.stop, false), (.stopCopy, true), (.stop, false),
            (.resuming, true), (.stop, false), (.stopCopy, true), (.resuming, true), (.running, false),
            (.resuming, true), (.stopCopy, true), (.running, false), (.resuming, true), (.stop, false), (.running, false),
        ]
        for (target, file) in steps {
            let before = try r.table.state(r.uuid)
            XCTAssertEqual(try r.table.setState(r.uuid, target), file, "\(before) -> \(target)")
            XCTAssertEqual(try r.table.state(r.uuid), target, "\(before) -> \(target)")
        }
    }

    /// X -> X: no arc, success, no new file; the old file stays usable.
    func testSameStateGivesNoNewFile() throws {
        let r = try rig()
        XCTAssertFalse(try r.table.setState(r.uuid, .running))
        XCTAssertEqual(try r.table.state(r.uuid), .running)
        XCTAssertTrue(try r.table.setState(r.uuid, .stopCopy))
        XCTAssertEqual(try r.table.read(r.uuid, count: 3), [0, 0, 0])
        XCTAssertFalse(try r.table.setState(r.uuid, .stopCopy))
        XCTAssertEqual(try r.table.state(r.uuid), .stopCopy)
        // The same session: the read position carries on.
        XCTAssertEqual(try r.table.read(r.uuid, count: 1), [4])
        XCTAssertFalse(try r.table.setState(r.uuid, .stop) )
        XCTAssertFalse(try r.table.setState(r.uuid, .stop))
        XCTAssertTrue(try r.table.setState(r.uuid, .resuming))
        XCTAssertFalse(try r.table.setState(r.uuid, .resuming))
        XCTAssertEqual(try r.table.write(r.uuid, [0, 0, 0]), 3)
        XCTAssertFalse(try r.table.setState(r.uuid, .resuming))
        XCTAssertEqual(try r.table.state(r.uuid), .resuming)
        XCTAssertEqual(try r.table.write(r.uuid, [4]), 1)
    }

    /// A SET that fails before any arc leaves the state where it was, and
    /// (vfio_ap_set_state returns before touching the files) keeps the file.
    func testFailingSetLeavesLastSuccessfulState() throws {
        let r = try rig()
        XCTAssertTrue(try r.table.setState(r.uuid, .stopCopy))
        for target in [S.preCopy, .preCopyP2P, .runningP2P, .error] {
            assertErrno(.invalidArgument, "\(target)") { try r.table.setState(r.uuid, target) }
            XCTAssertEqual(try r.table.state(r.uuid), .stopCopy)
        }
        XCTAssertEqual(try r.table.read(r.uuid, count: 4), [0, 0, 0, 4])
        XCTAssertTrue(try r.table.setState(r.uuid, .resuming))
        assertErrno(.invalidArgument) { try r.table.setState(r.uuid, .runningP2P) }
        XCTAssertEqual(try r.table.state(r.uuid), .resuming)
        // The host turning into an SE guest: EPERM, state unchanged.
        try r.table.setState(r.uuid, .stop)
        r.host.update { $0.machine.secureExecutionGuest = true }
        assertErrno(.notPermitted) { try r.table.setState(r.uuid, .running) }
        XCTAssertEqual(try r.table.state(r.uuid), .stop)
    }

    /// data size = 8 + 16 N, N the APQNs of the guest matrix (shadow), in
    /// every state.
    func testDataSizeInEveryState() throws {
        let r = try rig()
        for target in [S.running, .stop, .stopCopy, .stop, .resuming, .stop, .running] {
            try r.table.setState(r.uuid, target)
            XCTAssertEqual(try r.table.dataSize(r.uuid), 8 + 16 * 4, "\(target)")
        }
        let one = try rig(adapters: [5], domains: [0x47])
        for target in [S.running, .stop, .stopCopy, .resuming] {
            try one.table.setState(one.uuid, target)
            XCTAssertEqual(try one.table.dataSize(one.uuid), 24, "\(target)")
        }
        let six = try rig(adapters: [5, 6], domains: [4, 0x47, 0xab])
        for target in [S.running, .stop, .stopCopy, .resuming] {
            try six.table.setState(six.uuid, target)
            XCTAssertEqual(try six.table.dataSize(six.uuid), 8 + 16 * 6, "\(target)")
        }
    }

    /// Adapter 07 is assigned but not in the host configuration: the guest
    /// matrix drops it, and so do the data size and the stream.
    func testDataSizeFollowsTheShadowNotTheAssignment() throws {
        let r = try rig(adapters: [5, 6, 7], domains: [4, 0xab])
        let (matrix, shadow) = r.host.read { s in
            let m = s.mdevs[s.mdevIndex(uuid: r.uuid)!]
            return (m.matrix.queueCount, m.shadow.queueCount)
        }
        XCTAssertEqual(matrix, 6)
        XCTAssertEqual(shadow, 4)
        for target in [S.running, .stop, .stopCopy, .resuming] {
            try r.table.setState(r.uuid, target)
            XCTAssertEqual(try r.table.dataSize(r.uuid), 72, "\(target)")
        }
        try r.table.setState(r.uuid, .stopCopy)
        let bytes = try r.readAll()
        XCTAssertEqual(bytes.count, 72)
        XCTAssertEqual(Array(bytes[0..<4]), [0, 0, 0, 4])
        // An empty guest matrix: the header only.
        let empty = try rig(adapters: [7], domains: [4])
        XCTAssertEqual(try empty.table.dataSize(empty.uuid), 8)
        try empty.table.setState(empty.uuid, .stopCopy)
        XCTAssertEqual(try empty.readAll(), [0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// Patch 05: every SET on an SE host is EPERM with the dev_err line;
    /// GET state, flags and data size still work.
    func testSecureExecutionHostRefusesEverySet() throws {
        let r = try rig(secureExecution: true)
        let message = "vfio_ap_mdev \(r.uuid): Migration not allowed from or to a Secure Execution guest"
        for target in S.allCases {
            let lines = r.newLines {
                assertErrno(.notPermitted, "\(target)") { try r.table.setState(r.uuid, target) }
            }
            XCTAssertEqual(lines, [message], "\(target)")
            XCTAssertEqual(try r.table.state(r.uuid), .running)
        }
        XCTAssertFalse(r.table.hasFile(r.uuid))
        XCTAssertEqual(try r.table.migrationFlags(r.uuid), .stopCopy)
        XCTAssertEqual(try r.table.dataSize(r.uuid), 72)
        XCTAssertEqual(r.host.read { $0.log.entries.last?.level }, .err)
    }

    /// A kernel without the series has no mig_ops: ENOTTY for every
    /// migration feature.
    func testKernelWithoutTheSeriesIsENOTTY() throws {
        let r = try rig(migratable: false)
        XCTAssertTrue(r.table.isOpen(r.uuid))
        assertErrno(.inappropriateIOCTLForDevice) { try r.table.migrationFlags(r.uuid) }
        assertErrno(.inappropriateIOCTLForDevice) { try r.table.state(r.uuid) }
        assertErrno(.inappropriateIOCTLForDevice) { try r.table.dataSize(r.uuid) }
        for target in S.allCases {
            assertErrno(.inappropriateIOCTLForDevice, "\(target)") { try r.table.setState(r.uuid, target) }
        }
        XCTAssertEqual(r.logLines.filter { $0.contains("Migration") }, [])
        // No data file was ever handed out.
        assertErrno(.badFileDescriptor) { try r.table.read(r.uuid, count: 8) }
        assertErrno(.badFileDescriptor) { try r.table.write(r.uuid, [0]) }
        // Reset still works.
        XCTAssertNoThrow(try r.table.reset(r.uuid))
    }

    func testNotOpenMdevIsEBADF() throws {
        let r = try rig(open: false)
        XCTAssertFalse(r.table.isOpen(r.uuid))
        for uuid in [r.uuid, targetUUID] {
            assertErrno(.badFileDescriptor) { try r.table.migrationFlags(uuid) }
            assertErrno(.badFileDescriptor) { try r.table.state(uuid) }
            assertErrno(.badFileDescriptor) { try r.table.dataSize(uuid) }
            assertErrno(.badFileDescriptor) { try r.table.setState(uuid, .stop) }
            assertErrno(.badFileDescriptor) { try r.table.reset(uuid) }
            assertErrno(.badFileDescriptor) { try r.table.read(uuid, count: 1) }
        }
        // Open, then close again: EBADF once more; a new open starts RUNNING.
        try r.table.open(r.uuid, guest: "g1")
        try r.table.setState(r.uuid, .stopCopy)
        r.table.close(r.uuid)
        XCTAssertFalse(r.table.hasFile(r.uuid))
        assertErrno(.badFileDescriptor) { try r.table.state(r.uuid) }
        assertErrno(.badFileDescriptor) { try r.table.setState(r.uuid, .running) }
        try r.table.open(r.uuid, guest: "g1")
        XCTAssertEqual(try r.table.state(r.uuid), .running)
        XCTAssertFalse(r.table.hasFile(r.uuid))
    }

    /// v2: VFIO_DEVICE_RESET does not touch the migration state.
    func testResetKeepsTheMigrationState() throws {
        let r = try rig()
        try r.table.setState(r.uuid, .stopCopy)
        try r.table.reset(r.uuid)
        XCTAssertEqual(try r.table.state(r.uuid), .stopCopy)
        XCTAssertEqual(try r.table.read(r.uuid, count: 4), [0, 0, 0, 4])
    }
}
