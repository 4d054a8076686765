import SystemPackage

/// What a file-system front end (FuseServer) needs from a virtual kernfs.
///
/// Paths are absolute within the tree: "/" is the root, "/bus/ap/apmask" an
/// attribute. Every call resolves the path afresh against the live model, so
/// a name that disappeared answers `ENOENT`. Implementations are thread-safe;
/// `store` may block (an mdev `remove` waits for its guest, as
/// `vfio_unregister_group_dev` does), so callers must not hold locks of their
/// own while calling it.
public protocol VirtualFileSystem: AnyObject, Sendable {
    /// The node at `path`, or `ENOENT` (`ENOTDIR` if a prefix is not a directory).
    func stat(_ path: String) -> Result<NodeStat, Errno>

    /// The entries of the directory at `path`, without "." and "..".
    func list(_ path: String) -> Result<[DirectoryEntry], Errno>

    /// The attributes of the named entries of the directory at `path`
    /// (readdirplus), each resolved one step from the directory; names no
    /// longer there are left out.
    func stats(in path: String, names: [String]) -> [String: NodeStat]

    /// The relative target of the symlink at `path`.
    func readlink(_ path: String) -> Result<String, Errno>

    /// The open-time check of `kernfs_fop_open`: `EACCES` when the mode has no
    /// write bit and write access is asked, or no read bit and read access is
    /// asked — even for root.
    func checkOpen(_ path: String, access: OpenAccess) -> Result<Void, Errno>

    /// One `show()`: the attribute's whole content (at most 4095 bytes).
    func show(_ path: String) -> Result<[UInt8], Errno>

    /// One `store()` of the bytes of one `write()` (at most 4096 of them are
    /// passed on, as `kernfs_fop_write_iter` does); returns the count the
    /// write() returns.
    func store(_ path: String, _ data: [UInt8]) -> Result<Int, Errno>

    /// The same for a write by `writer`, whom a blocking store may name
    /// and whose signals it may see (`current` in the kernel). By default
    /// the writer is not looked at.
    func store(_ path: String, _ data: [UInt8], writer: Writer) -> Result<Int, Errno>

    /// chmod/chown: stored on the node, as `kernfs_iop_setattr` does.
    func setOwnership(_ path: String, mode: UInt16?, uid: UInt32?, gid: UInt32?) -> Result<Void, Errno>

    /// Registers the one observer told, after each model change, which nodes
    /// changed (content) and which names appeared or disappeared.
    func observeChanges(_ observer: @escaping @Sendable (ChangeSet) -> Void)
}

extension VirtualFileSystem {
    /// One `stat` per name, for file systems with no cheaper way.
    public func stats(in path: String, names: [String]) -> [String: NodeStat] {
        var result: [String: NodeStat] = [:]
        for name in names {
            if case .success(let st) = stat(TreePath.join(path, name)) { result[name] = st }
        }
        return result
    }

    public func store(_ path: String, _ data: [UInt8], writer: Writer) -> Result<Int, Errno> { store(path, data) }
}

/// The process a write comes from, as the front end knows it (FUSE passes
/// the writer's pid with each request and tells of its signals).
public struct Writer: Sendable {
    public let pid: Int32
    /// Its command name (`comm`), looked up only when needed.
    public let command: @Sendable () -> String
    /// Whether a signal has come for it since the write began.
    public let signalPending: @Sendable () -> Bool

    public init(pid: Int32, command: @escaping @Sendable () -> String, signalPending: @escaping @Sendable () -> Bool) {
        self.pid = pid
        self.command = command
        self.signalPending = signalPending
    }
}

public enum NodeType: Sendable, Equatable {
    case directory
    case regularFile
    case symlink
}

public enum OpenAccess: Sendable, Equatable {
    case readOnly
    case writeOnly
    case readWrite
}

public struct NodeStat: Sendable, Equatable {
    public var type: NodeType
    /// Permission bits only (e.g. 0o644); the type bits come from `type`.
    public var mode: UInt16
    public var uid: UInt32
    public var gid: UInt32
    /// 4096 for attributes (PAGE_SIZE, whatever the content), 0 otherwise.
    public var size: Int
    /// Directories: 2 + number of subdirectories; others 1.
    public var nlink: Int

    public init(type: NodeType, mode: UInt16, uid: UInt32 = 0, gid: UInt32 = 0, size: Int, nlink: Int) {
        self.type = type
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.nlink = nlink
    }
}

/// What chmod/chown set on one node (nil: the node's default).
public struct NodeOwnership: Sendable, Equatable {
    public var path: String
    public var mode: UInt16?
    public var uid: UInt32?
    public var gid: UInt32?

    public init(path: String, mode: UInt16?, uid: UInt32?, gid: UInt32?) {
        self.path = path
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }
}

public struct DirectoryEntry: Sendable, Equatable {
    public var name: String
    public var type: NodeType

    public init(name: String, type: NodeType) {
        self.name = name
        self.type = type
    }
}

/// Which nodes a model change touched, as paths of the tree.
public struct ChangeSet: Sendable, Equatable {
    /// Attributes whose content may have changed (cached pages are stale).
    public var contentChanged: [String]
    /// Directories whose set of entries changed (names added or removed).
    public var entriesChanged: [String]
    /// Nodes that no longer exist (or were replaced by new nodes of the
    /// same name, as a driver's attribute group is on rebinding).
    public var removed: [String]
    /// Directories some of whose children may be gone without the change
    /// naming them: the front end checks the children it knows.
    public var childrenMayHaveGone: [String]

    public init(contentChanged: [String] = [], entriesChanged: [String] = [], removed: [String] = [],
                childrenMayHaveGone: [String] = []) {
        self.contentChanged = contentChanged
        self.entriesChanged = entriesChanged
        self.removed = removed
        self.childrenMayHaveGone = childrenMayHaveGone
    }

    public var isEmpty: Bool {
        contentChanged.isEmpty && entriesChanged.isEmpty && removed.isEmpty && childrenMayHaveGone.isEmpty
    }
}

/// A file system whose files are record streams, not attributes: the
/// kernel log device (/dev/kmsg). A read at an offset returns the one whole
/// record that starts there; offsets are the kernel's file position, which
/// advances by what each read returns.
public protocol RecordFileSystem: VirtualFileSystem {
    /// The record at `offset` (EINVAL when `size` cannot hold it). At the
    /// end: EAGAIN when `nonblocking`, else wait for the next record until
    /// `cancelled()` turns true (EINTR) or the file system stops (ENODEV).
    func readRecord(_ path: String, offset: Int, size: Int, nonblocking: Bool,
                    cancelled: () -> Bool) -> Result<[UInt8], Errno>

    /// SEEK_DATA: the offset of the first record still kept.
    func firstRecordOffset(_ path: String) -> Result<Int, Errno>

    /// Ends every waiting read (ENODEV): the file system is going away.
    func stopWaiting()
}
