import Sysfs
import SystemPackage

/// The attributes of a tree, found the way `find /sys -type f` finds them:
/// directories are entered, symlinks are not followed. The walk goes node
/// to node from the root (resolving every path from the root again would
/// make it quadratic).
public enum TreeWalk {
    public struct Attribute {
        public var path: String
        public var attribute: SysfsAttribute
        public var isWritable: Bool { attribute.mode & 0o222 != 0 }
        public var isReadable: Bool { attribute.mode & 0o444 != 0 }
    }

    /// Every attribute, sorted by path (a stable order, so one input byte
    /// picks the same attribute in the same state).
    public static func attributes(_ tree: SysfsTree) -> [Attribute] {
        guard case .success(let root) = tree.resolve("/") else { return [] }
        var out: [Attribute] = []
        var stack: [(String, SysfsNode)] = [("", root)]
        while let (path, node) = stack.popLast() {
            guard case .directory(let dir) = node else { continue }
            for e in dir.list() {
                guard let child = dir.child(e.name) else { violation("\(path)/\(e.name) is listed but not found") }
                switch child {
                case .directory: stack.append((path + "/" + e.name, child))
                case .attribute(let a): out.append(Attribute(path: path + "/" + e.name, attribute: a))
                case .symlink: break
                }
            }
        }
        return out.sorted { $0.path < $1.path }
    }

    /// One show() of every readable attribute (the function SysfsTree.show
    /// calls, from the node the walk holds): none may throw anything but an
    /// errno.
    public static func showAll(_ tree: SysfsTree) {
        for a in attributes(tree) where a.isReadable {
            guard let show = a.attribute.show else { continue }
            // (More than a page is cut by SysfsTree.show, as sysfs_emit does.)
            do {
                _ = try show()
            } catch is Errno {
            } catch {
                violation("\(a.path): show threw \(error)")
            }
        }
    }
}
