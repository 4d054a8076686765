import APCore
import Foundation
@testable import StateStore
import TestSupport
import XCTest

/// The file format: header line, payload, checks; refusals name the file
/// and what is wrong, and the file is never changed by reading it.
final class StateFileTests: XCTestCase {
    var dir = ""
    var file: StateFile!

    override func setUpWithError() throws {
        dir = try TestDirectory.make("statefile")
        file = StateFile(path: dir + "/host.state")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A valid file of the test host.
    private func validBytes() throws -> [UInt8] {
        let host = try makeTestHost()
        host.update { s in try? s.createMdev(uuid: uuidA) }
        let payload = try SnapshotEncoder().payload(host.read { $0 }, dirty: .everything, nodes: [],
                                                    surroundings: SurroundingState(ueventSeqnum: 3))
        let header = StateFileHeader(host: "h1", generation: 1, topology: TopologyIdentity(name: "persisted", digest: "0x01020304"),
                                     payload: .init(bytes: payload.count, crc32: CRC32.text(CRC32.checksum(payload))))
        return try StateFile.contents(header, payload: payload)
    }

    private func refusal(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        FileManager.default.createFile(atPath: self.file.path, contents: Data(bytes))
        do {
            _ = try self.file.read()
            XCTFail("accepted", file: file, line: line)
            return ""
        } catch {
            XCTAssertEqual(try? Array(Data(contentsOf: URL(fileURLWithPath: self.file.path))), bytes,
                           "reading changed the file", file: file, line: line)
            return "\(error)"
        }
    }

    func testWrittenFileReadsBack() throws {
        XCTAssertNil(try file.read(), "no file yet")
        let bytes = try validBytes()
        try file.replace(with: bytes)
        XCTAssertEqual(try Array(Data(contentsOf: URL(fileURLWithPath: file.path))), bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.temporaryPath))
        let (header, snapshot) = try XCTUnwrap(try file.read())
        XCTAssertEqual(header.format, "vfio-ap-sim-state")
        XCTAssertEqual(header.version, 1)
        XCTAssertEqual(header.host, "h1")
        XCTAssertEqual(snapshot.host.mdevs.map(\.uuid), [uuidA])
        XCTAssertEqual(snapshot.ueventSeqnum, 3)
        var st = stat()
        XCTAssertEqual(stat(file.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
    }

    /// The header's CRC-32 is zlib's: a file can be checked by hand.
    func testChecksumIsZlibs() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.text(0xAB), "0x000000ab")
    }

    func testRefusals() throws {
        let good = try validBytes()
        let newline = good.firstIndex(of: 0x0A)!
        let payloadSize = good.count - newline - 1
        let p = file.path
        let tail = "; the file is left as it is"
        XCTAssertEqual(refusal([]), "refusing the state file \(p): it is empty (truncated)\(tail)")
        XCTAssertEqual(refusal(Array(good[..<(newline + 1 + 100)])),
                       "refusing the state file \(p): it is truncated: the payload has 100 of its \(payloadSize) bytes\(tail)")
        XCTAssertEqual(refusal(Array(good[..<newline])),
                       "refusing the state file \(p): it is truncated: the payload has 0 of its \(payloadSize) bytes\(tail)")
        XCTAssertEqual(refusal(Array(good[..<30])), "refusing the state file \(p): it is truncated within its header line\(tail)")
        XCTAssertEqual(refusal(good + Array("x\n".utf8)), "refusing the state file \(p): it is damaged: 2 bytes follow the payload\(tail)")
        var flipped = good
        flipped[newline + 20] ^= 0x01
        let crc = CRC32.text(CRC32.checksum(flipped[(newline + 1)...]))
        let header = try JSONDecoder().decode(StateFileHeader.self, from: Data(good[..<newline]))
        XCTAssertEqual(refusal(flipped), "refusing the state file \(p): it is damaged: the payload's CRC-32 is \(crc), the header says \(header.payload.crc32)\(tail)")
        XCTAssertEqual(refusal(Array("name: s390\nadapters: []\n".utf8)),
                       "refusing the state file \(p): it is not a vfio-ap-sim state file (its first line is not a vfio-ap-sim-state header: it starts 'name: s390')\(tail)")
        XCTAssertEqual(refusal([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01]),
                       "refusing the state file \(p): it is not a vfio-ap-sim state file (its first line is not a vfio-ap-sim-state header: it starts '\\x7fELF\\x02\\x01')\(tail)")
        XCTAssertEqual(refusal(Array("{\"format\":\"other-tool\",\"version\":1}\n{}".utf8)),
                       "refusing the state file \(p): it is not a vfio-ap-sim state file (its format is 'other-tool', not vfio-ap-sim-state)\(tail)")
        XCTAssertEqual(refusal(Array("{\"version\":1}\n".utf8)),
                       "refusing the state file \(p): it is not a vfio-ap-sim state file (its first line has no \"format\")\(tail)")
        XCTAssertEqual(refusal(Array("{\"format\":\"vfio-ap-sim-state\",\"version\":2,\"whatever\":true}\nnew things".utf8)),
                       "refusing the state file \(p): it was written by a newer vfio-ap-sim (state format version 2; this one reads version 1 and older)\(tail)")
        XCTAssertEqual(refusal(Array("{\"format\":\"vfio-ap-sim-state\",\"version\":0}\n".utf8)),
                       "refusing the state file \(p): its header is damaged (version 0)\(tail)")
        XCTAssertEqual(refusal(Array("{\"format\":\"vfio-ap-sim-state\",\"version\":1}\n".utf8)),
                       "refusing the state file \(p): its header is damaged (no host)\(tail)")
        // A payload with the right length and CRC that is not ours.
        let bogus = Array("{\"state\":{}}".utf8)
        let bogusHeader = StateFileHeader(host: "h", generation: 1, topology: TopologyIdentity(name: "t", digest: "0x0"),
                                          payload: .init(bytes: bogus.count, crc32: CRC32.text(CRC32.checksum(bogus))))
        XCTAssertEqual(refusal(try StateFile.contents(bogusHeader, payload: bogus)),
                       "refusing the state file \(p): it is damaged: the payload does not decode (state.machine: missing)\(tail)")
    }

    func testUnreadableFileIsReportedWithStrerror() throws {
        try FileManager.default.createDirectory(atPath: file.path, withIntermediateDirectories: true)
        XCTAssertThrowsError(try file.read()) { error in
            XCTAssertEqual("\(error)", "cannot read the state file \(self.file.path): Is a directory")
        }
    }

    /// A failed save leaves the old file and no temporary file.
    func testAFailedReplaceLeavesTheOldFile() throws {
        let bytes = try validBytes()
        try file.replace(with: bytes)
        // A directory where the temporary file goes: open() fails.
        try FileManager.default.createDirectory(atPath: file.temporaryPath, withIntermediateDirectories: false)
        XCTAssertThrowsError(try file.replace(with: [1, 2, 3])) { error in
            XCTAssertEqual("\(error)", "cannot save the host's state to \(self.file.path): create \(self.file.temporaryPath): Is a directory")
        }
        XCTAssertEqual(try Array(Data(contentsOf: URL(fileURLWithPath: file.path))), bytes)
        let missing = StateFile(path: dir + "/gone/host.state")
        XCTAssertThrowsError(try missing.replace(with: bytes)) { error in
            XCTAssertEqual("\(error)", "cannot save the host's state to \(missing.path): create \(missing.temporaryPath): No such file or directory")
        }
    }

    func testOneHostPerFile() throws {
        var lock: StateFileLock? = try StateFileLock(file)
        XCTAssertNotNil(lock)
        XCTAssertThrowsError(try StateFileLock(file)) { error in
            XCTAssertEqual("\(error)", "the state file \(self.file.path) is in use by another vfio-ap-sim (its lock \(self.file.path).lock is held)")
        }
        lock = nil
        XCTAssertNoThrow(try StateFileLock(file), "released with its owner")
    }

    func testTopologyIdentityIgnoresSpellingButNotContent() throws {
        let a = try TopologyIdentity(TopologyDecoder(file: "a").decode(topologyYAML))
        let b = try TopologyIdentity(TopologyDecoder(file: "b").decode("# a comment\n" + topologyYAML.replacingOccurrences(of: "0x05", with: "5")))
        let c = try TopologyIdentity(TopologyDecoder(file: "c").decode(topologyYAML.replacingOccurrences(of: "0x47", with: "0x48")))
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.name, "persisted")
        XCTAssertNotEqual(a.digest, c.digest)
    }
}
