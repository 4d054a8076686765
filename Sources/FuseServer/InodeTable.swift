import Sysfs
import Synchronization

/// Maps FUSE inode numbers to tree paths and back.
///
/// A path keeps its number while the kernel references it (lookup count
/// > 0) or until the tree reports it removed. Numbers are never reused, so
/// a node removed and created again at the same path gets a fresh inode, as
/// a new `kernfs_node` does; the generation can then stay 0.
final class InodeTable: Sendable {
    static let rootInode: UInt64 = 1

    struct Node {
        var path: String
        var type: NodeType
        /// How many times the kernel was handed this inode (lookup replies).
        var lookups: UInt64
        /// False once the path was removed from the tree; the kernel may
        /// still hold the inode until it forgets it.
        var attached: Bool
        /// The last attributes seen, served to getattr after removal, as
        /// kernfs keeps answering from the VFS inode.
        var lastStat: NodeStat?
    }

    private struct Storage {
        var nodes: [UInt64: Node] = [:]
        var byPath: [String: UInt64] = [:]
        var nextInode: UInt64 = 2
    }

    private let storage: Mutex<Storage>

    init() {
        var storage = Storage()
        storage.nodes[Self.rootInode] = Node(path: "/", type: .directory, lookups: 1,
                                             attached: true, lastStat: nil)
        storage.byPath["/"] = Self.rootInode
        self.storage = Mutex(storage)
    }

    /// The node for `inode`, if the kernel may still use it.
    func node(_ inode: UInt64) -> Node? {
        storage.withLock { $0.nodes[inode] }
    }

    /// The inode currently bound to `path`, if any.
    func inode(ofPath path: String) -> UInt64? {
        storage.withLock { $0.byPath[path] }
    }

    /// Binds `path` (of `type`) to an inode, allocating one if needed, and
    /// adds `lookups` to its lookup count. A bound inode of another type
    /// belongs to a node that has been replaced: it is detached first.
    func remember(_ path: String, type: NodeType, stat: NodeStat? = nil, lookups: UInt64) -> UInt64 {
        storage.withLock { s in
            if let inode = s.byPath[path], var node = s.nodes[inode] {
                if node.type == type || inode == Self.rootInode {
                    node.lookups += lookups
                    if let stat { node.lastStat = stat }
                    s.nodes[inode] = node
                    return inode
                }
                Self.detach(inode, in: &s)
            }
            let inode = s.nextInode
            s.nextInode += 1
            s.nodes[inode] = Node(path: path, type: type, lookups: lookups, attached: true, lastStat: stat)
            s.byPath[path] = inode
            return inode
        }
    }

    /// Records fresh attributes for a still-bound inode.
    func update(_ inode: UInt64, stat: NodeStat) {
        storage.withLock { $0.nodes[inode]?.lastStat = stat }
    }

    /// `forget`: drops `count` lookups; at zero the inode is gone for good.
    func forget(_ inode: UInt64, count: UInt64) {
        guard inode != Self.rootInode else { return }
        storage.withLock { s in
            guard var node = s.nodes[inode] else { return }
            node.lookups -= min(count, node.lookups)
            if node.lookups > 0 {
                s.nodes[inode] = node
                return
            }
            s.nodes[inode] = nil
            if s.byPath[node.path] == inode { s.byPath[node.path] = nil }
        }
    }

    /// The tree removed `path`: unbinds it and every known path below it.
    /// Returns the inodes that were detached.
    @discardableResult
    func detachSubtree(_ path: String) -> [UInt64] {
        guard path != "/" else { return [] }
        let prefix = path + "/"
        return storage.withLock { s in
            // Nothing below an unbound path or a non-directory can be bound
            // (the kernel looks names up through their parent): skip the scan.
            guard let inode = s.byPath[path] else { return [] }
            var victims = [inode]
            if s.nodes[inode]?.type == .directory {
                victims += s.byPath.filter { $0.key.hasPrefix(prefix) }.map(\.value)
            }
            for inode in victims { Self.detach(inode, in: &s) }
            return victims
        }
    }

    /// The bound paths strictly below `path`.
    func knownPaths(below path: String) -> [String] {
        let prefix = path == "/" ? "/" : path + "/"
        return storage.withLock { s in s.byPath.keys.filter { $0.hasPrefix(prefix) && $0 != path } }
    }

    var count: Int { storage.withLock { $0.nodes.count } }

    private static func detach(_ inode: UInt64, in s: inout Storage) {
        guard inode != rootInode, var node = s.nodes[inode] else { return }
        if s.byPath[node.path] == inode { s.byPath[node.path] = nil }
        if node.lookups == 0 {
            s.nodes[inode] = nil
        } else {
            node.attached = false
            s.nodes[inode] = node
        }
    }
}
