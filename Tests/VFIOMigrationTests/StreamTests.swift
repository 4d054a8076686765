import APCore
import SystemPackage
import TestSupport
import VFIOMigration
import XCTest

/// The save stream (patches 06, 07) and the resume stream (08, 09, 10) on
/// the data file.
final class StreamTests: XCTestCase {
    typealias S = MigrationState

    static let hwinfo: [String: UInt64] = ["05.0004": hw0504, "05.00ab": hw05ab, "06.0004": hw0604, "06.00ab": hw06ab]

    /// adapters 05, 06 x domains 04, ab, big-endian, zero padding.
    static let expected: [UInt8] = [
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
        0xF2, 0x80, 0x00, 0x00, 0x0E, 0xFF, 0x08, 0x07, 0x05, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xF2, 0x80, 0x00, 0x00, 0x0E, 0xFF, 0x08, 0x06, 0x05, 0xAB, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xEA, 0x80, 0x00, 0x00, 0x0D, 0xFF, 0x00, 0x05, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xEB, 0x40, 0x00, 0x00, 0x0D, 0xFF, 0x00, 0x03, 0x06, 0xAB, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    func source() throws -> Rig {
        try Rig(uuid: sourceUUID, adapters: [5, 6], domains: [4, 0xab], hwinfo: Self.hwinfo)
    }

    func target() throws -> Rig {
        try Rig(uuid: targetUUID, adapters: [5, 6], domains: [4, 0xab], hwinfo: Self.hwinfo)
    }

    // MARK: - save

    func testSaveStreamIsByteExact() throws {
        let r = try source()
        XCTAssertEqual(Self.expected.count, 72)
        XCTAssertTrue(try r.table.setState(r.uuid, .stopCopy))
        XCTAssertEqual(try r.table.read(r.uuid, count: 4096), Self.expected)
        XCTAssertEqual(APConfigStream.decode(Self.expected)?.entries.map(\.apqn), [q0504, q05ab, q0604, q06ab])
    }

    /// The default hwinfo the topology gives: CEX8 CCA and accelerator,
    /// APSC AP4KM AP4KC APXA, native, 255 domains, depth 7.
    func testSaveStreamWithTopologyDefaults() throws {
        let r = try Rig(adapters: [5, 6], domains: [0x47], hwinfo: [:])
        try r.table.setState(r.uuid, .stopCopy)
        XCTAssertEqual(try r.readAll(), [
            0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
            0xF2, 0x80, 0x00, 0x00, 0x0E, 0xFF, 0x00, 0x07, 0x05, 0x47, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xEA, 0x80, 0x00, 0x00, 0x0E, 0xFF, 0x00, 0x07, 0x06, 0x47, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ])
    }

    func testReadInChunksOfAnySize() throws {
        let r = try source()
        for chunk in [1, 3, 7, 16, 71, 72, 1000] {
            XCTAssertTrue(try r.table.setState(r.uuid, .stopCopy), "chunk \(chunk)")
            var got: [UInt8] = []
            var reads = 0
            while true {
                let b = try r.table.read(r.uuid, count: chunk)
                if b.isEmpty { break }
                XCTAssertEqual(b.count, min(chunk, 72 - got.count), "chunk \(chunk)")
                got += b
                reads += 1
            }
            XCTAssertEqual(got, Self.expected, "chunk \(chunk)")
            XCTAssertEqual(reads, (72 + chunk - 1) / chunk, "chunk \(chunk)")
            // EOF is permanent.
            XCTAssertEqual(try r.table.read(r.uuid, count: chunk), [])
            XCTAssertEqual(try r.table.read(r.uuid, count: 1), [])
            try r.table.setState(r.uuid, .stop)
        }
    }

    func testZeroLengthReadAndPread() throws {
        let r = try source()
        try r.table.setState(r.uuid, .stopCopy)
        XCTAssertEqual(try r.table.read(r.uuid, count: 0), [])
        assertErrno(.illegalSeek) { try r.table.read(r.uuid, count: 8, offset: 0) }
        assertErrno(.illegalSeek) { try r.table.read(r.uuid, count: 8, offset: 8) }
        // Neither moved the position.
        XCTAssertEqual(try r.readAll(chunk: 5), Self.expected)
        assertErrno(.illegalSeek) { try r.table.read(r.uuid, count: 8, offset: 0) }
        // The save file is read-only.
        assertErrno(.badFileDescriptor) { try r.table.write(r.uuid, [0]) }
    }

    func testReadsAfterLeavingStopCopyAreENODEV() throws {
        for leave in [S.stop, .running, .resuming] {
            let r = try source()
            try r.table.setState(r.uuid, .stopCopy)
            XCTAssertEqual(try r.table.read(r.uuid, count: 10).count, 10)
            let newFile = try r.table.setState(r.uuid, leave)
            if leave == .resuming {
                // The new resume file replaced the save file: reading it is EBADF.
                XCTAssertTrue(newFile)
                assertErrno(.badFileDescriptor) { try r.table.read(r.uuid, count: 10) }
            } else {
                XCTAssertFalse(newFile)
                assertErrno(.noDevice, "\(leave)") { try r.table.read(r.uuid, count: 10) }
                assertErrno(.noDevice, "\(leave)") { try r.table.read(r.uuid, count: 0) }
                // pread is still ESPIPE first.
                assertErrno(.illegalSeek) { try r.table.read(r.uuid, count: 10, offset: 0) }
            }
        }
        // Closing the data fd: EBADF.
        let r = try source()
        try r.table.setState(r.uuid, .stopCopy)
        r.table.closeFile(r.uuid)
        assertErrno(.badFileDescriptor) { try r.table.read(r.uuid, count: 1) }
    }

    /// The stream is taken when the arc runs: a later change of the guest
    /// matrix does not change the open session.
    func testSaveStreamIsASnapshot() throws {
        let r = try source()
        try r.table.setState(r.uuid, .stopCopy)
        r.host.update { $0.queues[q0504]!.hardwareInfo = HardwareInfo(value: 0) }
        XCTAssertEqual(try r.readAll(chunk: 7), Self.expected)
    }

    // MARK: - resume

    func testResumeAcceptsAnyChunking() throws {
        let stream = try source().saveStream()
        XCTAssertEqual(stream, Self.expected)
        for chunks in [[1], [3], [5], [13], [3, 5, 13], [72]] {
            let t = try target()
            XCTAssertTrue(try t.table.setState(t.uuid, .resuming), "\(chunks)")
            XCTAssertEqual(try t.table.state(t.uuid), .resuming)
            let lines = try t.newLines { try t.write(stream, chunks: chunks) }
            XCTAssertEqual(lines, [], "\(chunks)")
            XCTAssertFalse(try t.table.setState(t.uuid, .stop), "\(chunks)")
            XCTAssertEqual(try t.table.state(t.uuid), .stop)
            XCTAssertFalse(try t.table.setState(t.uuid, .running), "\(chunks)")
            XCTAssertEqual(try t.table.state(t.uuid), .running)
        }
        // RESUMING -> RUNNING in one SET (RESUMING -> STOP -> RUNNING).
        let t = try target()
        try t.table.setState(t.uuid, .resuming)
        try t.write(stream, chunks: [3, 5, 13])
        XCTAssertFalse(try t.table.setState(t.uuid, .running))
        XCTAssertEqual(try t.table.state(t.uuid), .running)
    }

    func testResumeToATargetWithNewerCards() throws {
        let stream = try source().saveStream()
        // Same facilities and modes, AP type CEX8 everywhere, other depths.
        var newer = Self.hwinfo
        newer["06.0004"] = 0xEA80_0000_0EFF_0008
        newer["06.00ab"] = 0xEB40_0000_0EFF_0F01
        newer["05.0004"] = 0xF280_0000_0E55_0001
        let t = try Rig(uuid: targetUUID, adapters: [5, 6], domains: [4, 0xab], hwinfo: newer)
        try t.table.setState(t.uuid, .resuming)
        XCTAssertEqual(try t.table.write(t.uuid, stream), 72)
        XCTAssertFalse(try t.table.setState(t.uuid, .running))
    }

    func testPositionedWriteIsESPIPE() throws {
        let t = try target()
        try t.table.setState(t.uuid, .resuming)
        assertErrno(.illegalSeek) { try t.table.write(t.uuid, Self.expected, offset: 0) }
        assertErrno(.illegalSeek) { try t.table.write(t.uuid, [0], offset: 4) }
        // Nothing was taken: the whole stream still fits.
        XCTAssertEqual(try t.table.write(t.uuid, Self.expected), 72)
        assertErrno(.illegalSeek) { try t.table.write(t.uuid, [0], offset: 72) }
        // The resume file is write-only.
        assertErrno(.badFileDescriptor) { try t.table.read(t.uuid, count: 1) }
    }

    func testWriteAfterLeavingResumingIsENODEV() throws {
        for leave in [S.stop, .running, .stopCopy] {
            let t = try target()
            try t.table.setState(t.uuid, .resuming)
            XCTAssertEqual(try t.table.write(t.uuid, Array(Self.expected[0..<10])), 10)
            let newFile = try t.table.setState(t.uuid, leave)
            if leave == .stopCopy {
                // The save file replaced it: writing that is EBADF.
                XCTAssertTrue(newFile)
                assertErrno(.badFileDescriptor) { try t.table.write(t.uuid, [0]) }
            } else {
                XCTAssertFalse(newFile)
                let lines = t.newLines {
                    assertErrno(.noDevice, "\(leave)") { try t.table.write(t.uuid, Array(Self.expected[10...])) }
                    assertErrno(.noDevice, "\(leave)") { try t.table.write(t.uuid, [0]) }
                }
                XCTAssertEqual(lines, [])
                assertErrno(.illegalSeek) { try t.table.write(t.uuid, [0], offset: 0) }
            }
        }
    }

    /// A new RESUMING session starts at position 0 with a fresh buffer.
    func testNewResumeSessionStartsOver() throws {
        let t = try target()
        try t.table.setState(t.uuid, .resuming)
        XCTAssertEqual(try t.table.write(t.uuid, Array(Self.expected[0..<50])), 50)
        try t.table.setState(t.uuid, .stop)
        XCTAssertTrue(try t.table.setState(t.uuid, .resuming))
        XCTAssertEqual(try t.table.write(t.uuid, Self.expected), 72)
        try t.table.setState(t.uuid, .running)
        XCTAssertEqual(try t.table.state(t.uuid), .running)
    }
}
