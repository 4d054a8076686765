import APCore
import SystemPackage
import TestSupport
import VFIOMigration
import XCTest

/// `vfio_ap_resume_write` (patch 09) in the seed's order: size against the
/// target's config (EIO), then once the count is in the queue count
/// (ENODEV / E2BIG), then once the whole config is in the APQNs (ENODEV) and
/// the hardware (EFAULT), each with its exact kernel-log lines.
final class ResumeValidationTests: XCTestCase {
    /// A target with `adapters` x `domains` in RESUMING.
    func target(adapters: [Int] = [5, 6], domains: [Int] = [4, 0xab], hwinfo: [String: UInt64] = StreamTests.hwinfo,
                bindState: [String: Int] = [:]) throws -> Rig {
        let t = try Rig(uuid: targetUUID, adapters: adapters, domains: domains, hwinfo: hwinfo, bindState: bindState)
        XCTAssertTrue(try t.table.setState(t.uuid, .resuming))
        return t
    }

    func stream(_ entries: [(APQN, UInt64)], count: Int? = nil) -> [UInt8] {
        APConfigStream(queueCount: UInt32(count ?? entries.count),
                       entries: entries.map { .init(hardwareInfo: HardwareInfo(value: $0.1), apqn: $0.0) }).encoded()
    }

    /// The target's own configuration as a source would send it.
    var matching: [(APQN, UInt64)] { [(q0504, hw0504), (q05ab, hw05ab), (q0604, hw0604), (q06ab, hw06ab)] }

    /// `entries` (by default `matching`) with entry `index`'s hwinfo changed by `change`.
    func changing(_ index: Int, in entries: [(APQN, UInt64)]? = nil,
                  _ change: (inout HardwareInfo) -> Void) -> [(APQN, UInt64)] {
        var entries = entries ?? matching
        var hw = HardwareInfo(value: entries[index].1)
        change(&hw)
        entries[index].1 = hw.value
        return entries
    }

    func write(_ t: Rig, _ bytes: [UInt8], _ errno: Errno, lines expected: [String],
               file: StaticString = #filePath, line: UInt = #line) {
        let lines = t.newLines {
            assertErrno(errno, file: file, line: line) { try t.table.write(t.uuid, bytes) }
        }
        XCTAssertEqual(lines, expected.map(t.line), file: file, line: line)
    }

    func testMatchingStreamIsAccepted() throws {
        let t = try target()
        let lines = try t.newLines { XCTAssertEqual(try t.table.write(t.uuid, stream(matching)), 72) }
        XCTAssertEqual(lines, [])
        XCTAssertEqual(stream(matching), StreamTests.expected)
    }

    // MARK: - size: EIO

    func testStreamLargerThanTargetConfigIsEIO() throws {
        let t = try target(adapters: [5], domains: [4, 0xab])
        XCTAssertEqual(try t.table.dataSize(t.uuid), 40)
        write(t, StreamTests.expected, .ioError,
              lines: ["migration failed: source guest's AP config size (72) larger than target's (40)"])
        // Nothing was taken: the header now gets to the count check.
        write(t, Array(StreamTests.expected[0..<4]), .argListTooLong,
              lines: ["migration failed: number of queues on source (4) and target (2) guests differ"])
        // v2 advanced the position before validating: X = 4 + 40.
        write(t, Array(StreamTests.expected[4..<44]), .ioError,
              lines: ["migration failed: source guest's AP config size (44) larger than target's (40)"])
        write(t, Array(StreamTests.expected[4..<40]), .argListTooLong,
              lines: ["migration failed: number of queues on source (4) and target (2) guests differ"])
        write(t, [0], .ioError,
              lines: ["migration failed: source guest's AP config size (41) larger than target's (40)"])
    }

    func testOneByteMoreThanTheConfigIsEIO() throws {
        let t = try target()
        XCTAssertEqual(try t.table.write(t.uuid, StreamTests.expected), 72)
        write(t, [0], .ioError, lines: ["migration failed: source guest's AP config size (73) larger than target's (72)"])
        XCTAssertEqual(try t.table.write(t.uuid, []), 0)
    }

    // MARK: - queue count: ENODEV / E2BIG

    func testTargetWithMoreQueuesIsENODEV() throws {
        let source = try Rig(adapters: [5], domains: [4, 0xab], hwinfo: StreamTests.hwinfo).saveStream()
        XCTAssertEqual(source.count, 40)
        let t = try target()
        write(t, source, .noDevice, lines: ["migration failed: number of queues on source (2) and target (4) guests differ"])
        // The header alone, split 3 + 1: the check runs once the count is in.
        let t2 = try target()
        XCTAssertEqual(try t2.table.write(t2.uuid, Array(source[0..<3])), 3)
        write(t2, [source[3]], .noDevice, lines: ["migration failed: number of queues on source (2) and target (4) guests differ"])
    }

    func testSourceWithMoreQueuesIsE2BIGWhenTheChunkFits() throws {
        let t = try target(adapters: [5], domains: [4, 0xab])
        write(t, Array(StreamTests.expected[0..<4]), .argListTooLong,
              lines: ["migration failed: number of queues on source (4) and target (2) guests differ"])
        let t2 = try target(adapters: [5], domains: [4, 0xab])
        write(t2, Array(StreamTests.expected[0..<24]), .argListTooLong,
              lines: ["migration failed: number of queues on source (4) and target (2) guests differ"])
    }

    /// Both counts are ints in `vfio_ap_validate_num_queues`.
    func testQueueCountIsSigned() throws {
        let t = try target()
        write(t, [0xff, 0xff, 0xff, 0xff], .noDevice,
              lines: ["migration failed: number of queues on source (-1) and target (4) guests differ"])
        let t2 = try target()
        write(t2, [0x00, 0x00, 0x00, 0x05], .argListTooLong,
              lines: ["migration failed: number of queues on source (5) and target (4) guests differ"])
    }

    // MARK: - APQNs: ENODEV

    func testAPQNMissingFromTheGuestMatrixIsENODEV() throws {
        let t = try target()
        // Same count, domain 47 instead of ab; 05.0047 is also incompatible,
        // which the APQN check pre-empts.
        let bytes = stream([(q0504, hw0504), (q0547, 0), (q0604, hw0604), (q0647, hw0604)])
        let lines = t.newLines {
            XCTAssertEqual(try? t.table.write(t.uuid, Array(bytes[0..<71])), 71)
            assertErrno(.noDevice) { try t.table.write(t.uuid, [bytes[71]]) }
        }
        XCTAssertEqual(lines, [
            "migration failed: queue 05.0047 not assigned to guest matrix",
            "migration failed: queue 06.0047 not assigned to guest matrix",
        ].map(t.line))
    }

    /// Entries the source never filled are APQN 00.0000.
    func testUnfilledEntryIsQueue00_0000() throws {
        let t = try target()
        write(t, stream(Array(matching[0..<3]), count: 4), .noDevice,
              lines: ["migration failed: queue 00.0000 not assigned to guest matrix"])
    }

    /// An adapter assigned to the target mdev but not in its guest matrix.
    func testAPQNAssignedButFilteredFromTheShadowIsENODEV() throws {
        let t = try target(adapters: [5, 6, 7], domains: [4, 0xab])
        var entries = matching
        entries[3] = (APQN(card: 7, domain: 0xab), hw06ab)
        write(t, stream(entries), .noDevice, lines: ["migration failed: queue 07.00ab not assigned to guest matrix"])
    }

    // MARK: - hardware: EFAULT

    func testIncompatibleFacilityIsEFAULT() throws {
        let t = try target()
        let entries = changing(0) { $0.apsc = false }
        write(t, stream(entries), .badAddress, lines: [
            "Migration failed: Source and target queue (05.0004) not compatible",
            "APSC facility not installed in source queue 05.0004",
            "APSC facility installed in target queue 05.0004",
        ])
        // v2 validates nothing on RESUMING -> STOP.
        XCTAssertFalse(try t.table.setState(t.uuid, .stop))
        XCTAssertEqual(try t.table.state(t.uuid), .stop)
    }

    func testIncompatibleModeUsesTheSeedsWording() throws {
        let t = try target()
        let entries = changing(1) { $0.cca = false; $0.ep11 = true }
        write(t, stream(entries), .badAddress, lines: [
            "Migration failed: Source and target queue (05.00ab) not compatible",
            "Coprocessor-mode facility not installed in source queue 05.00ab",
            "Coprocessor-mode facility installed target queue 05.00ab",
            "XCP-mode facility installed source queue 05.00ab",
            "XCP-mode facility not installed target queue 05.00ab",
        ])
    }

    func testNewerSourceTypeAndBindStateAreReported() throws {
        let t = try target()
        let entries = changing(2) { $0.apType = 0x0f; $0.bindState = 1 }
        write(t, stream(entries), .badAddress, lines: [
            "Migration failed: Source and target queue (06.0004) not compatible",
            "AP type of source (0f) not compatible with target (0d)",
            "Bind/associate state for source (1) and target (0) queue 06.0004 are not compatible",
        ])
    }

    /// printk stamps each line when it is printed: the lines of one
    /// incompatibility report carry their own, rising timestamps.
    func testEachReportLineHasItsOwnTimestamp() throws {
        let t = try target()
        let before = t.host.read { $0.log.entries.count }
        let entries = changing(2) { $0.apType = 0x0f; $0.bindState = 1 }
        assertErrno(.badAddress) { try t.table.write(t.uuid, stream(entries)) }
        let stamps = t.host.read { $0.log.entries.dropFirst(before).map(\.timestamp) }
        XCTAssertEqual(stamps.count, 3)
        for (a, b) in zip(stamps, stamps.dropFirst()) { XCTAssertLessThan(a, b, "\(stamps)") }
    }

    /// An older source type is fine, so no AP-type line next to the real
    /// incompatibility.
    func testOlderSourceTypeGetsNoAPTypeLine() throws {
        let t = try target()
        let entries = changing(0) { $0.apType = 0x0b; $0.apxa = false }
        write(t, stream(entries), .badAddress, lines: [
            "Migration failed: Source and target queue (05.0004) not compatible",
            "AP-extended-addressing (APXA) facility not installed in source queue 05.0004",
            "AP-extended-addressing (APXA) facility installed in target queue 05.0004",
        ])
    }

    func testBoundTargetQueueIsEFAULT() throws {
        let t = try target(bindState: ["06.00ab": 2])
        XCTAssertEqual(t.hwinfo(q06ab).bindState, 2)
        write(t, stream(matching), .badAddress, lines: [
            "Migration failed: Source and target queue (06.00ab) not compatible",
            "Bind/associate state for source (0) and target (2) queue 06.00ab are not compatible",
        ])
    }

    /// `matrixes_compatible` stops at the first incompatible queue.
    func testOnlyTheFirstIncompatibleQueueIsReported() throws {
        let t = try target()
        let entries = changing(3, in: changing(1) { $0.slcf = true }) { $0.slcf = false }
        write(t, stream(entries), .badAddress, lines: [
            "Migration failed: Source and target queue (05.00ab) not compatible",
            "Stateless-command-filtering (SLCF) available in source queue 05.00ab",
            "Stateless-command-filtering (SLCF) not available in target queue 05.00ab",
        ])
    }

    /// The documented rule: a stateless-only source may go to a native
    /// target, a native source not to a stateless-only one (06.00ab is
    /// stateless-only on the target).
    func testClassificationOnTheTarget() throws {
        let t = try target()
        let stateless = changing(2) { $0.classification = HardwareInfo.classStatelessOnly }
        XCTAssertEqual(try t.table.write(t.uuid, stream(stateless)), 72)

        let t2 = try target()
        let native = changing(3) { $0.classification = HardwareInfo.classNative }
        write(t2, stream(native), .badAddress, lines: [
            "Migration failed: Source and target queue (06.00ab) not compatible",
            "Full native card function available on source queue 06.00ab",
            "Only stateless functions available on target queue 06.00ab",
        ])
    }

    /// The stream's hwinfo is compared with the target queue's live hwinfo.
    func testComparedWithTheLiveTargetHwinfo() throws {
        let t = try target()
        t.host.update { s in
            var hw = s.queues[q0604]!.hardwareInfo
            hw.accel = false
            hw.cca = true
            s.queues[q0604]!.hardwareInfo = hw
        }
        write(t, stream(matching), .badAddress, lines: [
            "Migration failed: Source and target queue (06.0004) not compatible",
            "Coprocessor-mode facility not installed in source queue 06.0004",
            "Coprocessor-mode facility installed target queue 06.0004",
            "Accelerator-mode facility installed source queue 06.0004",
            "Accelerator-mode facility not installed target queue 06.0004",
        ])
    }
}
