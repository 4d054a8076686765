import Glibc
import Sysfs

/// How a layout reads the emulated tree's directories and links: through
/// its FUSE mount (a host served by another process), or from the model
/// itself when the host is served here (exec's own host), which spares
/// exec a FUSE round trip for every directory and link it lays out
/// (about 0.8 ms of its start). Both give what readdir and readlink of
/// the mount give: FuseServer answers them from the same tree.
struct EmulatedEntries {
    /// The entries of a directory under the mount, sorted by name.
    var list: (String) throws -> [DirectoryEntries.Entry]
    /// A link's target, by its path under the mount.
    var linkTarget: (String) -> String?

    static let throughMount = EmulatedEntries(list: { try DirectoryEntries($0).entries },
                                              linkTarget: { SymbolicLink.target($0) })

    /// `tree`, mounted at `mountpoint`.
    static func fromTree(_ tree: VirtualFileSystem, mountedAt mountpoint: String) -> EmulatedEntries {
        func treePath(_ path: String) -> String {
            let below = path.dropFirst(mountpoint.count)
            return below.isEmpty ? "/" : String(below)
        }
        return EmulatedEntries(
            list: { path in
                switch tree.list(treePath(path)) {
                case .success(let entries):
                    return entries.map { DirectoryEntries.Entry(name: $0.name, type: $0.type.directoryEntryType) }
                        .sorted { $0.name < $1.name }
                case .failure(let error):
                    throw UserError("cannot list \(path): \(String(cString: strerror(error.rawValue)))")
                }
            },
            linkTarget: { path in try? tree.readlink(treePath(path)).get() })
    }
}

private extension NodeType {
    /// readdir's d_type for the node.
    var directoryEntryType: UInt8 {
        switch self {
        case .directory: return UInt8(DT_DIR)
        case .symlink: return UInt8(DT_LNK)
        case .regularFile: return UInt8(DT_REG)
        }
    }
}
