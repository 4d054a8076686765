import Foundation
import Sysfs
import SystemPackage

/// A small kernfs-like tree for exercising FuseServer through a real mount.
///
///     /bus/ap/ro          0444  "ro-content\n"
///     /bus/ap/wo          0200
///     /bus/ap/rw          0644  store recorded; may fail or block
///     /bus/ap/link     -> ../../devices/vfio_ap
///     /devices/vfio_ap/   (dir)
///     /devices/vfio_ap/mdev/ (dir) with /devices/vfio_ap/mdev/state 0444
///     /big/e00000 ... e69999 (0444)
final class InMemoryFileSystem: VirtualFileSystem, @unchecked Sendable {
    struct Node {
        var type: NodeType
        var mode: UInt16
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        var content: [UInt8] = []
        var target: String = ""
    }

    static let bigCount = 70_000

    private let lock = NSLock()
    private var nodes: [String: Node] = [:]
    private var observer: (@Sendable (ChangeSet) -> Void)?
    private var storeCalls: [(path: String, data: [UInt8])] = []
    private var showCounts: [String: Int] = [:]
    private var failure: Errno?
    private var blockStores = false
    private let storeEntered = DispatchSemaphore(value: 0)
    private let storeRelease = DispatchSemaphore(value: 0)

    init() {
        for dir in ["/", "/bus", "/bus/ap", "/devices", "/devices/vfio_ap", "/devices/vfio_ap/mdev", "/big"] {
            nodes[dir] = Node(type: .directory, mode: 0o755)
        }
        nodes["/bus/ap/ro"] = Node(type: .regularFile, mode: 0o444, content: Array("ro-content\n".utf8))
        nodes["/bus/ap/wo"] = Node(type: .regularFile, mode: 0o200)
        nodes["/bus/ap/rw"] = Node(type: .regularFile, mode: 0o644, content: Array("0\n".utf8))
        nodes["/bus/ap/link"] = Node(type: .symlink, mode: 0o777, target: "../../devices/vfio_ap")
        nodes["/devices/vfio_ap/mdev/state"] = Node(type: .regularFile, mode: 0o444, content: Array("on\n".utf8))
    }

    // MARK: Test controls

    var stores: [(path: String, data: [UInt8])] { lock.withLock { storeCalls } }
    func showCount(_ path: String) -> Int { lock.withLock { showCounts[path, default: 0] } }
    func resetCounters() { lock.withLock { storeCalls = []; showCounts = [:] } }
    func failStores(with errno: Errno?) { lock.withLock { failure = errno } }
    func setBlocking(_ on: Bool) { lock.withLock { blockStores = on } }
    /// Waits until a blocking store has been entered.
    func waitForBlockedStore(timeout: TimeInterval) -> Bool {
        storeEntered.wait(timeout: .now() + timeout) == .success
    }
    func releaseBlockedStore() { storeRelease.signal() }

    func setContent(_ path: String, _ text: String) {
        lock.withLock { nodes[path]?.content = Array(text.utf8) }
        notify(ChangeSet(contentChanged: [path]))
    }

    func remove(_ path: String) {
        let removed = lock.withLock { () -> [String] in
            let victims = nodes.keys.filter { $0 == path || $0.hasPrefix(path + "/") }
            for victim in victims { nodes[victim] = nil }
            return victims
        }
        notify(ChangeSet(entriesChanged: [parent(path)], removed: removed))
    }

    func add(_ path: String, _ node: Node) {
        lock.withLock { nodes[path] = node }
        notify(ChangeSet(entriesChanged: [parent(path)]))
    }

    private func notify(_ changes: ChangeSet) {
        let observer = lock.withLock { self.observer }
        observer?(changes)
    }

    // MARK: VirtualFileSystem

    func stat(_ path: String) -> Result<NodeStat, Errno> {
        guard let node = node(path) else { return .failure(.noSuchFileOrDirectory) }
        let nlink: Int
        if path == "/big" {
            nlink = 2
        } else if node.type == .directory {
            nlink = 2 + (listing(path)?.filter { $0.type == .directory }.count ?? 0)
        } else {
            nlink = 1
        }
        return .success(NodeStat(type: node.type, mode: node.mode, uid: node.uid, gid: node.gid,
                                 size: node.type == .regularFile ? 4096 : 0, nlink: nlink))
    }

    func list(_ path: String) -> Result<[DirectoryEntry], Errno> {
        guard let node = node(path) else { return .failure(.noSuchFileOrDirectory) }
        guard node.type == .directory else { return .failure(.notDirectory) }
        return .success(listing(path) ?? [])
    }

    func readlink(_ path: String) -> Result<String, Errno> {
        guard let node = node(path) else { return .failure(.noSuchFileOrDirectory) }
        guard node.type == .symlink else { return .failure(.invalidArgument) }
        return .success(node.target)
    }

    func checkOpen(_ path: String, access: OpenAccess) -> Result<Void, Errno> {
        guard let node = node(path) else { return .failure(.noSuchFileOrDirectory) }
        let wantsRead = access != .writeOnly
        let wantsWrite = access != .readOnly
        if wantsWrite && node.mode & 0o222 == 0 { return .failure(.permissionDenied) }
        if wantsRead && node.mode & 0o444 == 0 { return .failure(.permissionDenied) }
        return .success(())
    }

    func show(_ path: String) -> Result<[UInt8], Errno> {
        guard let node = node(path) else { return .failure(.noSuchFileOrDirectory) }
        lock.withLock { showCounts[path, default: 0] += 1 }
        return .success(node.content)
    }

    func store(_ path: String, _ data: [UInt8]) -> Result<Int, Errno> {
        guard node(path) != nil else { return .failure(.noSuchFileOrDirectory) }
        let (failure, block) = lock.withLock { () -> (Errno?, Bool) in
            storeCalls.append((path, data))
            return (self.failure, blockStores)
        }
        if block {
            storeEntered.signal()
            storeRelease.wait()
        }
        if let failure { return .failure(failure) }
        let count = min(data.count, 4096)
        lock.withLock { nodes[path]?.content = Array(data.prefix(count)) }
        notify(ChangeSet(contentChanged: [path]))
        return .success(count)
    }

    func setOwnership(_ path: String, mode: UInt16?, uid: UInt32?, gid: UInt32?) -> Result<Void, Errno> {
        lock.withLock { () -> Result<Void, Errno> in
            guard var node = nodes[path] ?? bigNode(path) else { return .failure(.noSuchFileOrDirectory) }
            if let mode { node.mode = mode }
            if let uid { node.uid = uid }
            if let gid { node.gid = gid }
            nodes[path] = node
            return .success(())
        }
    }

    func observeChanges(_ observer: @escaping @Sendable (ChangeSet) -> Void) {
        lock.withLock { self.observer = observer }
    }

    // MARK: Helpers

    private func node(_ path: String) -> Node? {
        lock.withLock { nodes[path] ?? bigNode(path) }
    }

    /// The 70,000 entries of /big are synthesized, not stored.
    private func bigNode(_ path: String) -> Node? {
        guard path.hasPrefix("/big/e"), let n = Int(path.dropFirst(6)), n >= 0, n < Self.bigCount,
              path == Self.bigName(n, prefix: "/big/") else { return nil }
        return Node(type: .regularFile, mode: 0o444, content: Array("\(n)\n".utf8))
    }

    static func bigName(_ n: Int, prefix: String = "") -> String {
        prefix + "e" + String(repeating: "0", count: max(0, 5 - String(n).count)) + String(n)
    }

    private func listing(_ path: String) -> [DirectoryEntry]? {
        if path == "/big" {
            return (0..<Self.bigCount).map { DirectoryEntry(name: Self.bigName($0), type: .regularFile) }
        }
        let prefix = path == "/" ? "/" : path + "/"
        return lock.withLock {
            nodes.filter { $0.key != "/" && $0.key.hasPrefix(prefix) && !$0.key.dropFirst(prefix.count).contains("/") }
                .map { DirectoryEntry(name: String($0.key.dropFirst(prefix.count)), type: $0.value.type) }
                .sorted { $0.name < $1.name }
        }
    }

    private func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
