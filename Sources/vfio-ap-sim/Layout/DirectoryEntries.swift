import Glibc

/// A directory's entries with the type readdir gives (sysfs and the FUSE
/// tree both give it): no lstat per entry, sorted by name.
struct DirectoryEntries {
    struct Entry {
        var name: String
        /// d_type of readdir: DT_DIR, DT_LNK, ..., or DT_UNKNOWN.
        var type: UInt8

        enum Kind { case directory, symlink, other, missing }

        /// The entry's kind; an lstat of `path` only where readdir did not say.
        func kind(at path: String) -> Kind {
            switch Int(type) {
            case Int(DT_DIR): return .directory
            case Int(DT_LNK): return .symlink
            case Int(DT_UNKNOWN):
                var st = stat()
                guard lstat(path, &st) == 0 else { return .missing }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: return .directory
                case S_IFLNK: return .symlink
                default: return .other
                }
            default: return .other
            }
        }
    }

    let entries: [Entry]

    init(_ path: String) throws {
        guard let dir = opendir(path) else {
            throw UserError("cannot list \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var list: [Entry] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            list.append(Entry(name: name, type: e.pointee.d_type))
        }
        entries = list.sorted { $0.name < $1.name }
    }
}
