import Foundation
import TestSupport
import XCTest

/// The VFIO migration protocol step by step through `vfio-ap-sim migration`:
/// state transitions and their errno, the data size, the save stream read to
/// a file and decoded, resume with split writes and the driver's checks, and
/// the Secure Execution refusal.
final class MigrationProtocolTests: LabTestCase {
    let u = exampleUUID

    /// The save stream of migration-source.yaml's mdev: num_queues 4, then
    /// {hwinfo, apqn} per APQN, big-endian, 8 + 16 * 4 bytes.
    static let sourceStream: [UInt8] = {
        func entry(_ hw: UInt64, _ apqn: UInt16) -> [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: hw >> (56 - 8 * UInt64($0))) }
                + [UInt8(apqn >> 8), UInt8(apqn & 0xff)] + [UInt8](repeating: 0, count: 6)
        }
        return [0, 0, 0, 4, 0, 0, 0, 0]
            + entry(0xf280_0000_0bff_0007, 0x0504) + entry(0xf280_0000_0bff_0007, 0x05ab)
            + entry(0xea80_0000_0bff_0007, 0x0604) + entry(0xea80_0000_0bff_0007, 0x06ab)
    }()

    func fail(_ args: String..., status: Int32 = 1, stderr: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try lab.cli(args, file: file, line: line)
        XCTAssertEqual(r.status, status, "vfio-ap-sim \(args.joined(separator: " "))", file: file, line: line)
        XCTAssertEqual(r.stderr, stderr + "\n", "vfio-ap-sim \(args.joined(separator: " "))", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
    }

    func file(_ name: String) -> String { lab.root + "/" + name }

    func testStateTransitionsAndTheirErrors() throws {
        _ = try lab.start("src", topology: Paths.topology("migration-source.yaml"))
        // Not open yet: no device fd to ask.
        try fail("migration", "get-state", "--host", "src", u, stderr: "vfio-ap-sim: Bad file descriptor")
        try fail("migration", "set-state", "--host", "src", u, "STOP", stderr: "vfio-ap-sim: Bad file descriptor")
        try ok("guest", "start", "--host", "src", "g1", u)

        XCTAssertEqual(try ok("migration", "flags", "--host", "src", u), ["1"], "VFIO_MIGRATION_STOP_COPY only")
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["RUNNING"])
        XCTAssertEqual(try ok("migration", "data-size", "--host", "src", u), ["72"], "8 + 16 * 4 APQNs")
        // Arcs a STOP_COPY-only device does not support: vfio_mig_get_next_state says EINVAL.
        for state in ["PRE_COPY", "RUNNING_P2P", "PRE_COPY_P2P", "ERROR", "0"] {
            try fail("migration", "set-state", "--host", "src", u, state, stderr: "vfio-ap-sim: Invalid argument")
        }
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["RUNNING"], "a refused arc changes nothing")
        // Numbers past the enum reach the driver, whose vfio_mig_get_next_state refuses them.
        for state in ["8", "4294967295"] {
            try fail("migration", "set-state", "--host", "src", u, state, stderr: "vfio-ap-sim: Invalid argument")
        }
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["RUNNING"])

        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "STOP"), ["STOP"])
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "STOP"), ["STOP"], "same state: nothing to do")
        XCTAssertEqual(try ok("migration", "data-size", "--host", "src", u), ["72"], "in any state")
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "STOP_COPY"), ["STOP_COPY data_fd"])
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["STOP_COPY"])
        // STOP_COPY -> RESUMING walks STOP_COPY -> STOP -> RESUMING and opens a new stream.
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "RESUMING"), ["RESUMING data_fd"])
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "RUNNING"), ["RUNNING"])
        // RUNNING -> STOP_COPY by number (3): RUNNING -> STOP -> STOP_COPY.
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "3"), ["STOP_COPY data_fd"])
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "2"), ["RUNNING"])
        try ok("migration", "close-fd", "--host", "src", u)
        try fail("migration", "save", "--host", "src", u, file("none.bin"), stderr: "vfio-ap-sim: Bad file descriptor")

        // The guest's pause and resume drive STOP and RUNNING.
        try ok("guest", "pause", "--host", "src", "g1")
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["STOP"])
        XCTAssertEqual(try guestList("src"), ["g1 paused \(u)"])
        try ok("guest", "resume", "--host", "src", "g1")
        XCTAssertEqual(try ok("migration", "get-state", "--host", "src", u), ["RUNNING"])
    }

    /// The data fd is a stream (`stream_open`): pread and pwrite get ESPIPE
    /// and leave the position where it was.
    func testPositionedIOIsIllegalSeek() throws {
        _ = try lab.start("src", topology: Paths.topology("migration-source.yaml"))
        try ok("guest", "start", "--host", "src", "g1", u)
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "STOP_COPY"), ["STOP_COPY data_fd"])
        try fail("migration", "save", "--host", "src", "--offset", "0", u, file("p.bin"), stderr: "vfio-ap-sim: Illegal seek")
        let saved = file("whole.bin")
        XCTAssertEqual(try ok("migration", "save", "--host", "src", u, saved), ["72 bytes saved to \(saved)"])
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: saved))), Self.sourceStream)
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "RESUMING"), ["RESUMING data_fd"])
        try fail("migration", "resume", "--host", "src", "--offset", "8", u, saved,
                 stderr: "vfio-ap-sim: write at offset 0: Illegal seek")
        XCTAssertEqual(try ok("migration", "resume", "--host", "src", "--chunk", "7", u, saved), ["72 bytes written"])
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "RUNNING"), ["RUNNING"])
    }

    /// ksys_pread64/ksys_pwrite64: a negative offset is EINVAL, any other
    /// offset ESPIPE (no FMODE_PREAD/PWRITE after stream_open), before the
    /// file's direction is looked at.
    func testPositionedIOFailsBeforeTheDirectionCheck() throws {
        _ = try lab.start("src", topology: Paths.topology("migration-source.yaml"))
        try ok("guest", "start", "--host", "src", "g1", u)
        let stream = file("s.bin")
        try Data(Self.sourceStream).write(to: URL(fileURLWithPath: stream))
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "STOP_COPY"), ["STOP_COPY data_fd"])
        // pwrite on the read-only save stream.
        try fail("migration", "resume", "--host", "src", "--offset", "0", u, stream,
                 stderr: "vfio-ap-sim: write at offset 0: Illegal seek")
        try fail("migration", "resume", "--host", "src", "--offset=-1", u, stream,
                 stderr: "vfio-ap-sim: write at offset 0: Invalid argument")
        try fail("migration", "save", "--host", "src", "--offset=-1", u, file("n.bin"), stderr: "vfio-ap-sim: Invalid argument")
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "RESUMING"), ["RESUMING data_fd"])
        // pread on the write-only resume stream.
        try fail("migration", "save", "--host", "src", "--offset", "0", u, file("p.bin"), stderr: "vfio-ap-sim: Illegal seek")
        try fail("migration", "save", "--host", "src", "--offset=-8", u, file("p.bin"), stderr: "vfio-ap-sim: Invalid argument")
        // Plain read() is vfs_read's EBADF on a write-only file.
        try fail("migration", "save", "--host", "src", u, file("p.bin"), stderr: "vfio-ap-sim: Bad file descriptor")
        XCTAssertEqual(try ok("migration", "resume", "--host", "src", u, stream), ["72 bytes written"], "nothing was consumed")
    }

    func testSaveToAFileAndDecodeIt() throws {
        _ = try lab.start("src", topology: Paths.topology("migration-source.yaml"))
        try ok("guest", "start", "--host", "src", "g1", u)
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "STOP_COPY"), ["STOP_COPY data_fd"])
        // The read-only save stream refuses writes.
        try Data(Self.sourceStream).write(to: URL(fileURLWithPath: file("in.bin")))
        try fail("migration", "resume", "--host", "src", u, file("in.bin"), stderr: "vfio-ap-sim: write at offset 0: Bad file descriptor")

        let saved = file("saved.bin")
        XCTAssertEqual(try ok("migration", "save", "--host", "src", "--chunk", "10", u, saved), ["72 bytes saved to \(saved)"])
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: saved))), Self.sourceStream)
        XCTAssertEqual(try ok("migration", "save", "--host", "src", u, file("eof.bin")), ["0 bytes saved to \(file("eof.bin"))"], "EOF")
        XCTAssertEqual(try ok("migration", "decode", saved), [
            "num_queues: 4",
            "05.0004 hwinfo 0xf28000000bff0007 type 11 mode cca facilities APSC,AP4KM,AP4KC,APXA class native bs 0 depth 7 ml 0",
            "05.00ab hwinfo 0xf28000000bff0007 type 11 mode cca facilities APSC,AP4KM,AP4KC,APXA class native bs 0 depth 7 ml 0",
            "06.0004 hwinfo 0xea8000000bff0007 type 11 mode accel facilities APSC,AP4KM,AP4KC,APXA class native bs 0 depth 7 ml 0",
            "06.00ab hwinfo 0xea8000000bff0007 type 11 mode accel facilities APSC,AP4KM,AP4KC,APXA class native bs 0 depth 7 ml 0",
        ])
        try ok("migration", "close-fd", "--host", "src", u)
        XCTAssertEqual(try ok("migration", "set-state", "--host", "src", u, "RUNNING"), ["RUNNING"])

        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file("bad.bin")))
        try fail("migration", "decode", file("bad.bin"),
                 stderr: "vfio-ap-sim: \(file("bad.bin")): 3 bytes is not a vfio_ap AP configuration stream")
    }

    /// QEMU copies the stream into the data fd in arbitrary pieces: the
    /// driver must take them (vfio-migration.md §4.4).
    func testResumeTakesSplitWrites() throws {
        _ = try startMigrationHosts()
        try ok("guest", "start", "--host", "src", "g1", u)
        try ok("guest", "start", "--host", "dst", "--paused", "g1", u)
        try ok("migration", "set-state", "--host", "src", u, "STOP_COPY")
        let saved = file("saved.bin")
        try ok("migration", "save", "--host", "src", u, saved)
        for chunk in ["1", "5"] {
            XCTAssertEqual(try ok("migration", "set-state", "--host", "dst", u, "RESUMING"), ["RESUMING data_fd"])
            XCTAssertEqual(try ok("migration", "resume", "--host", "dst", "--chunk", chunk, u, saved), ["72 bytes written"], "chunk \(chunk)")
            XCTAssertEqual(try ok("migration", "get-state", "--host", "dst", u), ["RESUMING"])
            XCTAssertEqual(try ok("migration", "set-state", "--host", "dst", u, "STOP"), ["STOP"])
        }
        XCTAssertFalse(try lab.kernelLog("dst").contains { $0.contains("igration") })
    }

    func testResumeChecksEndInTheDriversErrno() throws {
        let (src, dst) = try startMigrationHosts()
        // A 2-APQN source (40 bytes) against the 4-APQN target.
        XCTAssertNil(src.write("devices/vfio_ap/matrix/\(u)/unassign_domain", "0xab\n"))
        try ok("guest", "start", "--host", "src", "g1", u)
        try ok("migration", "set-state", "--host", "src", u, "STOP_COPY")
        let small = file("small.bin")
        XCTAssertEqual(try ok("migration", "save", "--host", "src", u, small), ["40 bytes saved to \(small)"])
        try ok("guest", "start", "--host", "dst", "--paused", "g1", u)

        // One byte at a time: the count is checked as soon as its 4 bytes are in (offset 3).
        try ok("migration", "set-state", "--host", "dst", u, "RESUMING")
        try fail("migration", "resume", "--host", "dst", "--chunk", "1", u, small, stderr: "vfio-ap-sim: write at offset 3: No such device")
        XCTAssertEqual(try lab.kernelLog("dst").last,
                       "vfio_ap_mdev \(u): migration failed: number of queues on source (2) and target (4) guests differ")
        try ok("migration", "set-state", "--host", "dst", u, "STOP")

        // The 4-APQN stream into a 2-APQN target: in 5-byte writes the count
        // check comes first (E2BIG, the source has more); in one write the size check (EIO).
        XCTAssertNil(dst.write("devices/vfio_ap/matrix/\(u)/unassign_domain", "0xab\n"))
        try Data(Self.sourceStream).write(to: URL(fileURLWithPath: file("big.bin")))
        try ok("migration", "set-state", "--host", "dst", u, "RESUMING")
        try fail("migration", "resume", "--host", "dst", "--chunk", "5", u, file("big.bin"), stderr: "vfio-ap-sim: write at offset 0: Argument list too long")
        XCTAssertEqual(try lab.kernelLog("dst").last,
                       "vfio_ap_mdev \(u): migration failed: number of queues on source (4) and target (2) guests differ")
        try ok("migration", "set-state", "--host", "dst", u, "STOP")
        try ok("migration", "set-state", "--host", "dst", u, "RESUMING")
        try fail("migration", "resume", "--host", "dst", u, file("big.bin"), stderr: "vfio-ap-sim: write at offset 0: Input/output error")
        XCTAssertEqual(try lab.kernelLog("dst").last,
                       "vfio_ap_mdev \(u): migration failed: source guest's AP config size (72) larger than target's (40)")
        try ok("migration", "set-state", "--host", "dst", u, "STOP")

        // Back to 4 APQNs with an older accelerator type in the stream's place:
        // the last write completes the stream and the hardware check fails (EFAULT).
        XCTAssertNil(dst.write("devices/vfio_ap/matrix/\(u)/assign_domain", "0xab\n"))
        var newer = Self.sourceStream
        newer[8 + 16 * 2 + 4] = 0x0d   // 06.0004: AP type 13 (CEX7) on the source
        try Data(newer).write(to: URL(fileURLWithPath: file("newer.bin")))
        try ok("migration", "set-state", "--host", "dst", u, "RESUMING")
        try fail("migration", "resume", "--host", "dst", "--chunk", "5", u, file("newer.bin"), stderr: "vfio-ap-sim: write at offset 70: Bad address")
        XCTAssertEqual(Array(try lab.kernelLog("dst").suffix(2)), [
            "vfio_ap_mdev \(u): Migration failed: Source and target queue (06.0004) not compatible",
            "vfio_ap_mdev \(u): AP type of source (0d) not compatible with target (0c)",
        ])
        try ok("migration", "set-state", "--host", "dst", u, "STOP")

        // An APQN the target's guest matrix lacks: ENODEV once the stream is complete.
        var other = Self.sourceStream
        other[8 + 16 * 3 + 9] = 0x47   // 06.00ab -> 06.0047
        try Data(other).write(to: URL(fileURLWithPath: file("other.bin")))
        try ok("migration", "set-state", "--host", "dst", u, "RESUMING")
        try fail("migration", "resume", "--host", "dst", u, file("other.bin"), stderr: "vfio-ap-sim: write at offset 0: No such device")
        XCTAssertEqual(try lab.kernelLog("dst").last,
                       "vfio_ap_mdev \(u): migration failed: queue 06.0047 not assigned to guest matrix")
    }

    func testSecureExecutionHostRefusesEveryStateChange() throws {
        let text = try String(contentsOfFile: Paths.topology("migration-source.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "machine:\n", with: "machine:\n  secure_execution_guest: true\n")
        let topology = try lab.topologyFile("se.yaml", text)
        _ = try lab.start("se", topology: topology)
        _ = try lab.start("dst", topology: Paths.topology("migration-target.yaml"))
        try ok("guest", "start", "--host", "se", "g1", u)
        // vfio_ap_set_state refuses every SET before the state is looked at,
        // numbers past the enum included.
        for state in ["STOP", "STOP_COPY", "RESUMING", "RUNNING", "8", "4294967295"] {
            try fail("migration", "set-state", "--host", "se", u, state, stderr: "vfio-ap-sim: Operation not permitted")
        }
        XCTAssertEqual(try ok("migration", "get-state", "--host", "se", u), ["RUNNING"])
        XCTAssertEqual(try ok("migration", "data-size", "--host", "se", u), ["72"])
        let log = try lab.kernelLog("se")
        XCTAssertEqual(log.filter { $0 == "vfio_ap_mdev \(u): Migration not allowed from or to a Secure Execution guest" }.count, 6, log.joined(separator: "\n"))

        // A live migration from the SE host fails on the source; the guest stays.
        let r = try lab.cli("migrate", "--from", "se", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: operation failed: "), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("Operation not permitted\n"), r.stderr)
        XCTAssertEqual(try guestList("se"), ["g1 running \(u)"])
        XCTAssertEqual(try guestList("dst"), [])
    }
}
