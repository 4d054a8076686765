import Glibc

/// readlink(2) for the paths exec reads on every start (/proc/self/exe, the
/// namespace links, the symlinks of /sys it copies): FileManager's first
/// call costs a scan of the binary's protocol conformances.
enum SymbolicLink {
    /// The link's target, nil when `path` is not a readable symlink.
    static func target(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
