import APCore
import Foundation
import SystemPackage

/// The emulated /sys of one host, served as a `VirtualFileSystem`: every
/// path is resolved against the live model, attributes call their
/// show/store, and model changes are reported as the paths they touch.
public final class SysfsTree: VirtualFileSystem, @unchecked Sendable {
    public let host: S390Host
    /// chmod/chown results, kept per node path as kernfs keeps iattrs.
    private var ownership: [String: (mode: UInt16?, uid: UInt32?, gid: UInt32?)] = [:]
    private let ownershipLock = NSLock()
    /// Called after each chmod/chown, before it returns (the state file
    /// saves it then).
    public var ownershipChanged: (@Sendable () -> Void)?

    /// What one write() hands to store() at most (`kernfs_fop_write_iter`).
    public static let maxStoreBytes = 4096
    /// What one show() yields at most (`sysfs_emit`: PAGE_SIZE - 1).
    public static let maxShowBytes = 4095

    public init(host: S390Host) {
        self.host = host
    }

    // MARK: - Resolution

    static func components(_ path: String) -> [String] {
        TreePath.components(path[...])
    }

    /// Directories resolved since the host last changed, by path: a lookup
    /// walks one component from its parent instead of from the root.
    /// Cleared on any change (the nodes were built from that state) and
    /// when full, so a walk of a large tree keeps little.
    private struct DirectoryCache {
        var generation: UInt64 = .max
        var directories: [String: SysfsDirectory] = [:]
    }
    // NSLock, not Synchronization's Mutex: Thread Sanitizer sees only the former.
    private var cache = DirectoryCache()
    private let cacheLock = NSLock()
    private static let cachedDirectoryLimit = 4096

    /// Directories dropped from the cache are freed on a queue of their
    /// own: a full cache of device directories (and their attributes'
    /// closures) took about 2 ms to free, inside the request that found the
    /// host changed (an mdev's `remove` after a walk of the large host).
    ///
    /// A large drop (the cache a walk filled) is freed at SCHED_IDLE, so
    /// that its 2 ms of freeing take no CPU from the request that dropped
    /// it or from the client waiting for it on a machine of 2 CPUs: an
    /// mdev's `remove` right after a walk took 1.7 ms (median of eight
    /// fresh large hosts) with the freeing beside it, 0.5 ms without. The
    /// few directories each write drops are freed at the queue's own
    /// priority: at SCHED_IDLE a loop of writes that keeps both CPUs busy
    /// would leave them waiting.
    private static let releaser = DispatchQueue(label: "vfio-ap-sim.directory-cache", qos: .utility)
    private static let releasedWhenIdle = 256
    private final class Dropped: @unchecked Sendable {
        var directories: [String: SysfsDirectory]
        init(_ directories: [String: SysfsDirectory]) { self.directories = directories }
    }
    private static func release(_ directories: [String: SysfsDirectory]) {
        guard !directories.isEmpty else { return }
        let dropped = Dropped(directories)
        guard directories.count >= releasedWhenIdle else {
            releaser.async { _ = dropped }
            return
        }
        releaser.async {
            // libdispatch's worker, lent to this block: its policy is put back after.
            let thread = pthread_self()
            var policy: Int32 = 0
            var previous = sched_param()
            pthread_getschedparam(thread, &policy, &previous)
            var idle = sched_param(sched_priority: 0)
            pthread_setschedparam(thread, Self.schedIdle, &idle)
            dropped.directories = [:]
            pthread_setschedparam(thread, policy, &previous)
        }
    }
    /// SCHED_IDLE (linux/sched.h), which Glibc's module does not export.
    private static let schedIdle: Int32 = 5

    /// The node at `path`, or ENOENT / ENOTDIR.
    public func resolve(_ path: String) -> Result<SysfsNode, Errno> {
        // A path without its leading "/" is read from the root, as before.
        let path = path.utf8.first == TreePath.slashByte ? path : "/" + path
        let generation = host.currentGeneration
        // Most lookups are of a directory resolved before: no split of the path.
        var known: SysfsDirectory?
        withCache { c in if c.generation == generation { known = c.directories[path] } }
        if let known { return .success(.directory(known)) }
        // The deepest cached directory on the way, from the parent (the
        // path itself was asked just above); only the names below it are
        // split off the path (most often one: an attribute of a directory
        // resolved before).
        var prefix = path
        var start: SysfsDirectory?
        var dropped: [String: SysfsDirectory] = [:]
        withCache { c in
            if c.generation != generation {
                c.generation = generation
                swap(&dropped, &c.directories)
            }
            while prefix != "/" {
                prefix = TreePath.parent(prefix)
                if let d = c.directories[prefix] { start = d; return }
            }
        }
        Self.release(dropped)
        var node: SysfsNode
        var at: String
        let names: [String]
        if let start {
            node = .directory(start)
            at = prefix
            // `prefix` came from cutting `path` at slashes: a prefix of its bytes.
            names = TreePath.components(path[path.utf8.index(path.startIndex, offsetBy: prefix.utf8.count)...])
        } else {
            names = Self.components(path)
            let (state, built) = host.readWithGeneration { ($0, $1) }
            guard built == generation else { return resolveUncached(path) }
            node = .directory(SysfsLayout.root(host, state))
            at = "/"
        }
        var fresh: [(String, SysfsDirectory)] = []
        if start == nil, case .directory(let root) = node { fresh.append(("/", root)) }
        for name in names {
            guard case .directory(let dir) = node else { return .failure(.notDirectory) }
            guard let next = dir.child(name) else { return .failure(.noSuchFileOrDirectory) }
            node = next
            at = TreePath.join(at, name)
            if case .directory(let d) = next { fresh.append((at, d)) }
        }
        keep(fresh, builtFor: generation)
        return .success(node)
    }

    /// Caches directories built from the host of `generation`, unless it
    /// changed meanwhile; a full cache is emptied first. (Keeping the
    /// subdirectories a listing built for their attributes too made the
    /// cache hold thousands more device directories for no faster walk.)
    private func keep(_ directories: [(String, SysfsDirectory)], builtFor generation: UInt64) {
        guard !directories.isEmpty else { return }
        var dropped: [String: SysfsDirectory] = [:]
        withCache { c in
            guard c.generation == generation else { return }
            if c.directories.count + directories.count > Self.cachedDirectoryLimit { swap(&dropped, &c.directories) }
            for (p, d) in directories { c.directories[p] = d }
        }
        Self.release(dropped)
    }

    private func withCache(_ body: (inout DirectoryCache) -> Void) {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        body(&cache)
    }

    /// A walk from the root of a fresh copy of the state.
    private func resolveUncached(_ path: String) -> Result<SysfsNode, Errno> {
        let state = host.read { $0 }
        var node = SysfsNode.directory(SysfsLayout.root(host, state))
        for name in Self.components(path) {
            guard case .directory(let dir) = node else { return .failure(.notDirectory) }
            guard let next = dir.child(name) else { return .failure(.noSuchFileOrDirectory) }
            node = next
        }
        return .success(node)
    }

    // MARK: - VirtualFileSystem

    public func stat(_ path: String) -> Result<NodeStat, Errno> {
        resolve(path).map { nodeStat($0, at: path) }
    }

    public func stats(in path: String, names: [String]) -> [String: NodeStat] {
        guard case .success(.directory(let dir)) = resolve(path) else { return [:] }
        var result: [String: NodeStat] = [:]
        result.reserveCapacity(names.count)
        for name in names {
            guard let node = dir.child(name) else { continue }
            result[name] = nodeStat(node, at: TreePath.join(path, name))
        }
        return result
    }

    private func nodeStat(_ node: SysfsNode, at path: String) -> NodeStat {
        var st: NodeStat
        switch node {
        case .directory(let d):
            st = NodeStat(type: .directory, mode: 0o755, size: 0, nlink: 2 + d.subdirectoryCount())
        case .attribute(let a):
            st = NodeStat(type: .regularFile, mode: a.mode, size: 4096, nlink: 1)
        case .symlink:
            st = NodeStat(type: .symlink, mode: 0o777, size: 0, nlink: 1)
        }
        if let o = ownershipOverride(path) {
            if let m = o.mode { st.mode = m }
            if let u = o.uid { st.uid = u }
            if let g = o.gid { st.gid = g }
        }
        return st
    }

    public func list(_ path: String) -> Result<[DirectoryEntry], Errno> {
        resolve(path).flatMap { node in
            guard case .directory(let d) = node else { return .failure(.notDirectory) }
            return .success(d.list())
        }
    }

    public func readlink(_ path: String) -> Result<String, Errno> {
        resolve(path).flatMap { node in
            guard case .symlink(let target) = node else { return .failure(.invalidArgument) }
            return .success(target)
        }
    }

    /// `kernfs_fop_open` with KERNFS_ROOT_EXTRA_OPEN_PERM_CHECK: only the
    /// mode bits decide (device, bus and driver ktypes have both callbacks).
    public func checkOpen(_ path: String, access: OpenAccess) -> Result<Void, Errno> {
        stat(path).flatMap { st in
            guard st.type == .regularFile else { return st.type == .directory && access == .readOnly ? .success(()) : .failure(.isDirectory) }
            let wantsRead = access != .writeOnly
            let wantsWrite = access != .readOnly
            if wantsRead && st.mode & 0o444 == 0 { return .failure(.permissionDenied) }
            if wantsWrite && st.mode & 0o222 == 0 { return .failure(.permissionDenied) }
            return .success(())
        }
    }

    public func show(_ path: String) -> Result<[UInt8], Errno> {
        resolve(path).flatMap { node in
            guard case .attribute(let a) = node else { return .failure(.isDirectory) }
            // A mode opened up by chmod still finds no callback: EIO (dev_attr_show).
            guard let show = a.show else { return .failure(.ioError) }
            do {
                let text = Array(try show().utf8)
                return .success(Array(text.prefix(Self.maxShowBytes)))
            } catch let e as Errno {
                return .failure(e)
            } catch {
                return .failure(.ioError)
            }
        }
    }

    public func store(_ path: String, _ data: [UInt8]) -> Result<Int, Errno> {
        store(path, data, task: nil)
    }

    public func store(_ path: String, _ data: [UInt8], writer: Writer) -> Result<Int, Errno> {
        store(path, data, task: WritingTask(pid: writer.pid, command: writer.command, signalPending: writer.signalPending))
    }

    private func store(_ path: String, _ data: [UInt8], task: WritingTask?) -> Result<Int, Errno> {
        CurrentTask.while(task) { storeNow(path, data) }
    }

    private func storeNow(_ path: String, _ data: [UInt8]) -> Result<Int, Errno> {
        resolve(path).flatMap { node in
            guard case .attribute(let a) = node else { return .failure(.isDirectory) }
            guard let store = a.store else { return .failure(.ioError) }
            let bytes = Array(data.prefix(Self.maxStoreBytes))
            do {
                try store(bytes)
                return .success(bytes.count)
            } catch let e as Errno {
                return .failure(e)
            } catch {
                return .failure(.ioError)
            }
        }
    }

    public func setOwnership(_ path: String, mode: UInt16?, uid: UInt32?, gid: UInt32?) -> Result<Void, Errno> {
        resolve(path).map { _ in
            ownershipLock.lock()
            var o = ownership[path] ?? (nil, nil, nil)
            if let mode { o.mode = mode & 0o7777 }
            if let uid { o.uid = uid }
            if let gid { o.gid = gid }
            ownership[path] = o
            ownershipLock.unlock()
            ownershipChanged?()
        }
    }

    /// Every node's chmod/chown, by path.
    public var ownershipOverrides: [NodeOwnership] {
        ownershipLock.lock()
        defer { ownershipLock.unlock() }
        return ownership.map { NodeOwnership(path: $0.key, mode: $0.value.mode, uid: $0.value.uid, gid: $0.value.gid) }
    }

    /// Puts back what a state file kept; entries for nodes that do not
    /// exist (a node removed just before the file was saved) are dropped, as
    /// kernfs drops iattrs with their node.
    public func restoreOwnership(_ entries: [NodeOwnership]) {
        let kept = entries.filter { if case .success = resolve($0.path) { return true } else { return false } }
        ownershipLock.lock()
        for e in kept { ownership[e.path] = (e.mode.map { $0 & 0o7777 }, e.uid, e.gid) }
        ownershipLock.unlock()
    }

    private func ownershipOverride(_ path: String) -> (mode: UInt16?, uid: UInt32?, gid: UInt32?)? {
        ownershipLock.lock()
        defer { ownershipLock.unlock() }
        return ownership[path]
    }

    public func observeChanges(_ observer: @escaping @Sendable (ChangeSet) -> Void) {
        host.observe { [weak self] changes in
            guard let self else { return }
            let set = ChangeMapper.paths(for: changes, in: self.host.read { $0 })
            self.forgetOwnership(of: set)
            if !set.isEmpty { observer(set) }
        }
    }

    /// A removed node's chmod/chown go with it: kernfs keeps iattrs in the
    /// node, so a node made again at the same path has its default mode and
    /// root as owner.
    private func forgetOwnership(of set: ChangeSet) {
        ownershipLock.lock()
        defer { ownershipLock.unlock() }
        guard !ownership.isEmpty else { return }
        for path in set.removed {
            ownership = ownership.filter { $0.key != path && !$0.key.hasPrefix(path + "/") }
        }
        for dir in set.childrenMayHaveGone {
            for key in ownership.keys where TreePath.parent(key) == dir {
                if case .failure = resolve(key) { ownership[key] = nil }
            }
        }
    }
}

