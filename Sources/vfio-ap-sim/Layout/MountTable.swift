import Foundation
import Glibc

/// The few mount(2) calls the layouts need, with errors that name the path,
/// and the process's mount table (/proc/self/mountinfo).
enum MountTable {
    struct Entry {
        /// The mount point, unescaped (`\040` is a space).
        var mountPoint: String
        /// Per-mount options (field 6): `rw,nosuid,nodev,noexec,relatime`.
        var options: [String]
        var fileSystemType: String
        /// The mount source (field after the type): `sysfs`, `vfio-ap-sim`, ...
        var source: String
    }

    /// Split as bytes: the table is ASCII with octal escapes, and splitting
    /// the text by Character cost exec about 0.3 ms a read.
    static func entries() -> [Entry] {
        guard let text = readAll("/proc/self/mountinfo") else { return [] }
        func string(_ bytes: Substring.UTF8View.SubSequence) -> String { String(decoding: bytes, as: UTF8.self) }
        return text.utf8.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard fields.count > 6, let dash = fields.firstIndex(where: { $0.elementsEqual("-".utf8) }),
                  dash + 2 < fields.count else { return nil }
            return Entry(mountPoint: unescape(string(fields[4])),
                         options: fields[5].split(separator: UInt8(ascii: ",")).map(string),
                         fileSystemType: string(fields[dash + 1]), source: unescape(string(fields[dash + 2])))
        }
    }

    /// A /proc file read to its end. Foundation's `String(contentsOfFile:)`
    /// stops after the first read of a file whose size reads 0, and a
    /// mount table of an overlay is far longer than one page.
    static func readAll(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether `path` is a mount point in this namespace.
    static func isMountPoint(_ path: String) -> Bool { entries().contains { $0.mountPoint == path } }

    /// Mount points at or below `path`, parents first.
    static func mounts(under path: String) -> [Entry] {
        entries().filter { $0.mountPoint == path || $0.mountPoint.hasPrefix(path + "/") }
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = [UInt8]()
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
               let v = UInt8(String(decoding: b[i + 1...i + 3], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func mount(_ source: String?, _ target: String, type: String? = nil, flags: UInt, data: String? = nil) throws {
        let rc = Glibc.mount(source, target, type, flags, data)
        guard rc == 0 else {
            throw UserError("cannot mount \(source ?? type ?? "") at \(target): \(String(cString: strerror(errno)))")
        }
    }

    static func bind(_ source: String, _ target: String, recursive: Bool) throws {
        try mount(source, target, flags: UInt(MS_BIND) | (recursive ? UInt(MS_REC) : 0))
    }

    /// Makes one mount read-only, keeping its other per-mount flags (a
    /// bind remount replaces them all).
    static func remountReadOnly(_ e: Entry) throws {
        var flags = UInt(MS_REMOUNT) | UInt(MS_BIND) | UInt(MS_RDONLY)
        let known: [String: Int] = ["nosuid": Int(MS_NOSUID), "nodev": Int(MS_NODEV), "noexec": Int(MS_NOEXEC),
                                    "noatime": Int(MS_NOATIME), "nodiratime": Int(MS_NODIRATIME),
                                    "relatime": Int(MS_RELATIME), "strictatime": Int(MS_STRICTATIME)]
        for o in e.options { if let f = known[o] { flags |= UInt(f) } }
        try mount(nil, e.mountPoint, flags: flags)
    }

    /// Detaches `path` and everything below it (umount2 MNT_DETACH); the
    /// unmount propagates to the peers and slaves the mounts had.
    static func detach(_ path: String) {
        _ = umount2(path, Int32(MNT_DETACH))
    }
}
