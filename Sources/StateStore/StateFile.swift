import APCore
import Foundation
import Glibc

/// A state file on disk: read and checked as a whole, replaced as a whole
/// (a temporary file beside it, written, fsync'ed, renamed over it, the
/// directory fsync'ed), so that it holds either the previous save or the
/// new one, whenever the process dies.
public struct StateFile: Sendable {
    /// The file's path, absolute (made so when the file is opened, so that
    /// a later chdir does not move it).
    public let path: String

    public init(path: String) {
        self.path = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// The temporary file each save writes first.
    public var temporaryPath: String { path + ".tmp" }
    public var lockPath: String { path + ".lock" }
    var directory: String {
        let d = (path as NSString).deletingLastPathComponent
        return d.isEmpty ? "/" : d
    }

    // MARK: - Reading

    /// What the file holds; nil when there is no file. A file that cannot be
    /// read, or that is not a complete state file of a version this
    /// vfio-ap-sim reads, is an error naming what is wrong.
    public func read() throws -> (header: StateFileHeader, snapshot: StateSnapshot)? {
        guard let bytes = try readBytes() else { return nil }
        return try Self.parse(bytes, path: path)
    }

    private func readBytes() throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw StateFileError(path, .unreadable(Self.reason()))
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StateFileError(path, .unreadable(Self.reason()))
            }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }

    /// Checks and decodes a whole file: header line, payload length, CRC-32, payload.
    static func parse(_ bytes: [UInt8], path: String) throws -> (header: StateFileHeader, snapshot: StateSnapshot) {
        func refuse(_ p: StateFileError.Problem) -> StateFileError { StateFileError(path, p) }
        if bytes.isEmpty { throw refuse(.empty) }
        let newline = bytes.firstIndex(of: 0x0A)
        let line = Array(bytes[..<(newline ?? bytes.endIndex)])

        struct Probe: Decodable {
            var format: String?
            var version: Int?
        }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: Data(line)) else {
            let ours = Array("{\"format\":\"\(StateFileHeader.formatName)\"".utf8)
            if newline == nil && bytes.starts(with: ours) { throw refuse(.truncatedHeader) }
            throw refuse(.foreign("its first line is not a vfio-ap-sim-state header: it starts \(Self.quote(line.prefix(40)))"))
        }
        guard let format = probe.format else { throw refuse(.foreign("its first line has no \"format\"")) }
        guard format == StateFileHeader.formatName else {
            throw refuse(.foreign("its format is \(Self.quote(Array(format.utf8).prefix(60))), not \(StateFileHeader.formatName)"))
        }
        guard let version = probe.version else { throw refuse(.badHeader("no version")) }
        if version > StateFileHeader.currentVersion { throw refuse(.newerVersion(version)) }
        guard version >= 1 else { throw refuse(.badHeader("version \(version)")) }
        let header: StateFileHeader
        do { header = try JSONDecoder().decode(StateFileHeader.self, from: Data(line)) } catch {
            throw refuse(.badHeader(Self.describe(error)))
        }
        guard let newline else { throw refuse(.truncated(have: 0, want: header.payload.bytes)) }
        let payload = bytes[(newline + 1)...]
        let want = header.payload.bytes
        if payload.count < want { throw refuse(.truncated(have: payload.count, want: want)) }
        if payload.count > want { throw refuse(.trailingBytes(payload.count - want)) }
        let crc = CRC32.text(CRC32.checksum(payload))
        guard crc == header.payload.crc32 else { throw refuse(.checksum(computed: crc, header: header.payload.crc32)) }
        switch SnapshotDecoder.decode(Array(payload)) {
        case .success(let snapshot): return (header, snapshot)
        case .failure(let f): throw refuse(.undecodable(f.reason))
        }
    }

    /// Bytes as a quoted string, control and non-ASCII bytes as `\xNN`.
    static func quote<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = "'"
        for b in bytes {
            if b >= 0x20 && b < 0x7F && b != 0x27 && b != 0x5C {
                s.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                s += "\\x" + KernelFormat.hex(b, width: 2)
            }
        }
        return s + "'"
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no \(key.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            return (c.codingPath.map(\.stringValue) + [c.debugDescription]).joined(separator: ": ")
        default: return "\(error)"
        }
    }

    // MARK: - Writing

    /// The file's bytes for a header and payload.
    static func contents(_ header: StateFileHeader, payload: [UInt8]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = Array(try encoder.encode(header))
        bytes.append(0x0A)
        bytes += payload
        return bytes
    }

    /// Replaces the file by `bytes`: on return they are on disk under the
    /// file's name; on failure the file is as it was and the temporary file
    /// is gone.
    public func replace(with bytes: [UInt8]) throws {
        let tmp = temporaryPath
        func failure(_ what: String) -> StateFileError { StateFileError(path, .cannotWrite("\(what): \(Self.reason())")) }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw failure("create \(tmp)") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = failure("write \(tmp)")
                close(fd)
                throw e
            }
            done += n
        }
        if fsync(fd) != 0 {
            let e = failure("fsync \(tmp)")
            close(fd)
            throw e
        }
        if close(fd) != 0 { throw failure("close \(tmp)") }
        if rename(tmp, path) != 0 { throw failure("rename \(tmp) to \(path)") }
        ok = true
        // The rename is durable once the directory is.
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw failure("open \(directory)") }
        defer { close(dir) }
        if fsync(dir) != 0 { throw failure("fsync \(directory)") }
    }

    static func reason() -> String { String(cString: strerror(errno)) }
}
