import Foundation
import Sysfs

/// Maps FUSE inode numbers to tree paths and back.
///
/// A node's number is a function of its path and of how many times a node
/// at that path was removed before (its incarnation), so readdir can give
/// every entry its d_ino without remembering it, a later lookup gets the
/// same number, and a node removed and created again gets a fresh one, as
/// a new `kernfs_node` gets a new `kernfs_ino`. Only inodes the kernel
/// holds (lookup count > 0) are stored; a node is kept while the kernel
/// references it, and its number lives as long as its tree node.
final class InodeTable: @unchecked Sendable {
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
        /// Bound paths by their parent's path: a removal visits only what
        /// is bound below it.
        var children: [String: Set<String>] = [:]
        /// Paths whose node was removed, and how many times.
        var incarnations: [String: UInt32] = [:]
        /// How many paths of `byPath` and `incarnations` have each path
        /// hash: a listed name whose hash is not here has the number its
        /// hash gives, found without building its path (`numbers(in:)`).
        var knownHashes: [UInt64: Int] = [:]
        /// For the rare hash collision: numbers below 2^63, never reused.
        var nextFallback: UInt64 = 2
    }

    // NSLock, not Synchronization's Mutex: Thread Sanitizer sees only the former.
    private var storage: Storage
    private let lock = NSLock()

    init() {
        var storage = Storage()
        storage.nodes[Self.rootInode] = Node(path: "/", type: .directory, lookups: 1,
                                             attached: true, lastStat: nil)
        storage.byPath["/"] = Self.rootInode
        storage.knownHashes[PathHash.of("/"), default: 0] += 1
        self.storage = storage
    }

    private func withLock<T>(_ body: (inout Storage) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&storage)
    }

    /// The node for `inode`, if the kernel may still use it.
    func node(_ inode: UInt64) -> Node? {
        withLock { $0.nodes[inode] }
    }

    /// The inode currently bound to `path`, if any.
    func inode(ofPath path: String) -> UInt64? {
        withLock { $0.byPath[path] }
    }

    /// The number `path` has or will get when looked up (readdir's d_ino),
    /// without binding it.
    func number(ofPath path: String) -> UInt64 {
        withLock { s in s.byPath[path] ?? Self.hashedNumber(path, s.incarnations[path] ?? 0) }
    }

    /// `number(ofPath:)` of each name in the directory `dir`, under one
    /// lock; a name no bound or removed path shares a hash with (nearly
    /// all of a listing) costs a hash of its name and no path string.
    func numbers(in dir: String, names: [String]) -> [UInt64] {
        let parent = PathHash.of(dir)
        return withLock { s in
            names.map { name in
                let hash = PathHash.child(of: dir, hash: parent, name: name)
                guard s.knownHashes[hash] != nil else { return Self.number(hash: hash, incarnation: 0) }
                let path = TreePath.join(dir, name)
                return s.byPath[path] ?? Self.hashedNumber(path, s.incarnations[path] ?? 0)
            }
        }
    }

    /// Binds `path` (of `type`) to an inode, allocating one if needed, and
    /// adds `lookups` to its lookup count. A bound inode of another type
    /// belongs to a node that has been replaced: it is detached first.
    func remember(_ path: String, type: NodeType, stat: NodeStat? = nil, lookups: UInt64) -> UInt64 {
        withLock { s in
            if let inode = s.byPath[path], var node = s.nodes[inode] {
                if node.type == type || inode == Self.rootInode {
                    node.lookups += lookups
                    if let stat { node.lastStat = stat }
                    s.nodes[inode] = node
                    return inode
                }
                Self.detach(inode, in: &s)
            }
            var inode = Self.hashedNumber(path, s.incarnations[path] ?? 0)
            if s.nodes[inode] != nil {
                inode = s.nextFallback
                s.nextFallback += 1
            }
            s.nodes[inode] = Node(path: path, type: type, lookups: lookups, attached: true, lastStat: stat)
            Self.bind(path, inode, in: &s)
            s.children[TreePath.parent(path), default: []].insert(path)
            return inode
        }
    }

    /// Records fresh attributes for a still-bound inode.
    func update(_ inode: UInt64, stat: NodeStat) {
        withLock { $0.nodes[inode]?.lastStat = stat }
    }

    /// `forget`: drops `count` lookups; at zero the kernel holds the inode
    /// no more and it is dropped (its number stays its path's).
    func forget(_ inode: UInt64, count: UInt64) {
        guard inode != Self.rootInode else { return }
        withLock { s in
            guard var node = s.nodes[inode] else { return }
            node.lookups -= min(count, node.lookups)
            if node.lookups > 0 {
                s.nodes[inode] = node
                return
            }
            s.nodes[inode] = nil
            if s.byPath[node.path] == inode { Self.unbind(node.path, in: &s) }
        }
    }

    /// The tree removed `path`: unbinds it and every known path below it.
    /// Returns the inodes that were detached.
    @discardableResult
    func detachSubtree(_ path: String) -> [UInt64] {
        guard path != "/" else { return [] }
        return withLock { s in
            // A removed path that was never bound still gets a new
            // incarnation: readdir may have shown its number.
            guard let inode = s.byPath[path] else {
                Self.bumpIncarnation(path, in: &s)
                return []
            }
            let victims = [inode] + Self.below(path, in: s).compactMap { s.byPath[$0] }
            for inode in victims { Self.detach(inode, in: &s) }
            return victims
        }
    }

    /// The bound paths strictly below `path`.
    func knownPaths(below path: String) -> [String] {
        withLock { s in Self.below(path, in: s) }
    }

    /// The bound paths directly in `path`.
    func knownChildren(of path: String) -> [String] {
        withLock { s in Array(s.children[path] ?? []) }
    }

    var count: Int { withLock { $0.nodes.count } }

    // MARK: - Storage helpers

    private static func below(_ path: String, in s: Storage) -> [String] {
        var result: [String] = []
        var pending = [path]
        while let next = pending.popLast() {
            for child in s.children[next] ?? [] {
                result.append(child)
                pending.append(child)
            }
        }
        return result
    }

    /// Numbers with the top bit set, so they never meet the fallback range.
    private static func hashedNumber(_ path: String, _ incarnation: UInt32) -> UInt64 {
        if path == "/" && incarnation == 0 { return rootInode }
        return number(hash: PathHash.of(path), incarnation: incarnation)
    }

    /// The path's hash and its incarnation, mixed (splitmix64's finalizer).
    private static func number(hash: UInt64, incarnation: UInt32) -> UInt64 {
        var x = hash ^ (UInt64(incarnation) &* 0x9E37_79B9_7F4A_7C15)
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return (x ^ (x >> 31)) | (1 << 63)
    }

    private static func bind(_ path: String, _ inode: UInt64, in s: inout Storage) {
        if s.byPath.updateValue(inode, forKey: path) == nil { s.knownHashes[PathHash.of(path), default: 0] += 1 }
    }

    private static func bumpIncarnation(_ path: String, in s: inout Storage) {
        if s.incarnations[path] == nil { s.knownHashes[PathHash.of(path), default: 0] += 1 }
        s.incarnations[path, default: 0] &+= 1
    }

    private static func unbind(_ path: String, in s: inout Storage) {
        if s.byPath.removeValue(forKey: path) != nil {
            let hash = PathHash.of(path)
            if let n = s.knownHashes[hash], n > 1 { s.knownHashes[hash] = n - 1 } else { s.knownHashes[hash] = nil }
        }
        let parent = TreePath.parent(path)
        s.children[parent]?.remove(path)
        if s.children[parent]?.isEmpty == true { s.children[parent] = nil }
    }

    private static func detach(_ inode: UInt64, in s: inout Storage) {
        guard inode != rootInode, var node = s.nodes[inode] else { return }
        if s.byPath[node.path] == inode {
            unbind(node.path, in: &s)
            bumpIncarnation(node.path, in: &s)
        }
        if node.lookups == 0 {
            s.nodes[inode] = nil
        } else {
            node.attached = false
            s.nodes[inode] = node
        }
    }
}
