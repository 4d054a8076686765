import Foundation
import TestSupport

/// What a client sees of a sysfs tree, entry by entry: every directory's
/// names, every symlink's target, every regular file's bytes or the errno
/// its open or read gives. Symlinks are not followed (each is compared as
/// its target), so the walk visits each device once.
struct TreeWalk {
    /// Relative path -> `dir a b c`, `link TARGET`, `file BYTES` or `error N`.
    var entries: [String: String] = [:]

    /// Walks `root`, leaving out the relative paths in `skipping` and the
    /// entries named one of `names` (files not read, directories not
    /// entered). At most `limit` entries, so that a runaway tree fails
    /// instead of hanging.
    init(_ root: String, skipping: Set<String> = [], names: Set<String> = [], limit: Int = 200_000) throws {
        var pending = [""]
        while let rel = pending.popLast() {
            guard entries.count < limit else { throw FixtureError(description: "more than \(limit) entries below \(root)") }
            let path = rel.isEmpty ? root : root + "/" + rel
            var st = stat()
            guard lstat(path, &st) == 0 else { entries[rel] = "error \(errno) (lstat)"; continue }
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                entries[rel] = "link " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
            case S_IFDIR:
                // readdir order is the file system's own (kernfs: by name
                // hash); the names are what must agree.
                let children = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                entries[rel] = "dir " + children.joined(separator: " ")
                for n in children {
                    let child = rel.isEmpty ? n : rel + "/" + n
                    if !skipping.contains(child) && !names.contains(n) { pending.append(child) }
                }
            default:
                entries[rel] = Self.read(path)
            }
        }
    }

    /// One open and read to the end, as `cat` does: the bytes, or the errno.
    static func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "error \(errno) (open)" }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = Foundation.read(fd, &buffer, buffer.count)
            if n < 0 { return "error \(errno) (read)" }
            if n == 0 { break }
            data += buffer[0..<n]
        }
        return "file " + String(decoding: data, as: UTF8.self).debugDescription
    }

    /// The entries that differ (at most `limit`), one line each.
    func differences(from other: TreeWalk, limit: Int = 20) -> [String] {
        var out: [String] = []
        for key in Set(entries.keys).union(other.entries.keys).sorted() where entries[key] != other.entries[key] {
            out.append("\(key): \(entries[key] ?? "absent") | \(other.entries[key] ?? "absent")")
            if out.count == limit { break }
        }
        return out
    }
}
