import CFuse
import Foundation
import Sysfs
import SystemPackage

/// Answers FUSE requests from a `VirtualFileSystem`, the way kernfs answers
/// the VFS for sysfs. Every method replies exactly once.
final class RequestHandler: @unchecked Sendable {
    let fileSystem: VirtualFileSystem
    let inodes = InodeTable()
    let invalidator = Invalidator()
    let listings = DirectoryListings()
    /// With the kernel's caches on, names and attributes stay valid until
    /// the tree says otherwise (`treeChanged` invalidates them exactly), as
    /// kernfs dentries do; off, nothing is cached.
    let kernelCache: Bool
    let pageCache: Bool
    /// Opens never reach us (the kernel's `no_open`): reads and writes come
    /// with no file handle and make kernfs's open-time checks themselves.
    let openLess: Bool
    let entryTimeout: Double
    let attrTimeout: Double
    private let mountTime: timespec

    init(fileSystem: VirtualFileSystem, kernelCache: Bool = true, pageCache: Bool = false, openLess: Bool = false) {
        self.fileSystem = fileSystem
        self.kernelCache = kernelCache
        self.pageCache = pageCache
        // Record streams need a position per open.
        self.openLess = openLess && pageCache && !(fileSystem is RecordFileSystem)
        entryTimeout = kernelCache ? 86_400 : 0
        attrTimeout = kernelCache ? 86_400 : 0
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        mountTime = now
    }

    // MARK: - Names and attributes

    func lookup(_ req: fuse_req_t?, parent: UInt64, name: String) {
        guard let dir = inodes.node(parent), dir.attached else { return reply(req, .noSuchFileOrDirectory) }
        let path: String
        switch name {
        case ".": path = dir.path
        case "..": path = TreePath.parent(dir.path)
        default: path = TreePath.join(dir.path, name)
        }
        switch fileSystem.stat(path) {
        case .failure(let error):
            // Negative entries are not cached: plain error reply.
            reply(req, error)
        case .success(let stat):
            let inode = inodes.remember(path, type: stat.type, stat: stat, lookups: 1)
            var entry = fuse_entry_param()
            entry.ino = inode
            entry.generation = 0
            entry.attr = Attributes.make(stat, inode: inode, time: mountTime)
            entry.attr_timeout = attrTimeout
            entry.entry_timeout = entryTimeout
            if fuse_reply_entry(req, &entry) != 0 {
                // Interrupted: the kernel never saw this lookup.
                inodes.forget(inode, count: 1)
            }
        }
    }

    func forget(_ inode: UInt64, count: UInt64) {
        inodes.forget(inode, count: count)
    }

    func getattr(_ req: fuse_req_t?, inode: UInt64) {
        switch currentStat(inode) {
        case .success(let stat): replyAttr(req, stat, inode: inode)
        case .failure(let error): reply(req, error)
        }
    }

    /// kernfs_iop_setattr: mode/uid/gid are stored on the node; size and
    /// times are accepted and ignored (st_size stays 4096).
    func setattr(_ req: fuse_req_t?, inode: UInt64, attr: stat, toSet: Int32) {
        guard let node = inodes.node(inode), node.attached else { return reply(req, .noSuchFileOrDirectory) }
        let mode = toSet & FUSE_SET_ATTR_MODE != 0 ? UInt16(attr.st_mode & 0o7777) : nil
        let uid = toSet & FUSE_SET_ATTR_UID != 0 ? attr.st_uid : nil
        let gid = toSet & FUSE_SET_ATTR_GID != 0 ? attr.st_gid : nil
        invalidator.deferring(forInode: inode) {
            if mode != nil || uid != nil || gid != nil {
                if case .failure(let error) = fileSystem.setOwnership(node.path, mode: mode, uid: uid, gid: gid) {
                    return reply(req, error)
                }
            }
            getattr(req, inode: inode)
        }
    }

    func readlink(_ req: fuse_req_t?, inode: UInt64) {
        guard let node = inodes.node(inode), node.attached else { return reply(req, .noSuchFileOrDirectory) }
        switch fileSystem.readlink(node.path) {
        case .success(let target): _ = target.withCString { fuse_reply_readlink(req, $0) }
        case .failure(let error): reply(req, error)
        }
    }

    // MARK: - Attribute files

    /// kernfs_fop_open: a removed node answers ENODEV; the mode check is
    /// the tree's (EACCES even for root). direct_io makes every read and
    /// write reach us unmerged and unsplit (up to max_write).
    func open(_ req: fuse_req_t?, inode: UInt64, fi: UnsafeMutablePointer<fuse_file_info>) {
        // ENOSYS once: the kernel opens every file itself from now on, with
        // FOPEN_KEEP_CACHE, and sends no RELEASE (fuse_file_open).
        if openLess { return reply(req, Int32(ENOSYS)) }
        guard let node = inodes.node(inode) else { return reply(req, .noSuchFileOrDirectory) }
        guard node.attached else { return reply(req, .operationNotSupportedByDevice) }
        let access = Self.access(fi.pointee.flags)
        if case .failure(let error) = fileSystem.checkOpen(node.path, access: access) {
            return reply(req, error)
        }
        // O_TRUNC and O_APPEND need nothing: kernfs ignores both.
        let fh = FileHandle.make(OpenFile(inode: inode, path: node.path))
        fi.pointee.fh = fh
        // With the page cache, read-only opens read through it, kept across
        // opens until the tree changes the text (notify_inval_inode); writes
        // stay direct, so each write() is one store(). Without it every read
        // is a show() of the open's seq_file, as kernfs does. Record streams
        // (/dev/kmsg) are always direct.
        let cached = pageCache && access == .readOnly && !(fileSystem is RecordFileSystem)
        fi.pointee.direct_io = cached ? 0 : 1
        fi.pointee.keep_cache = cached ? 1 : 0
        fi.pointee.nonseekable = 0
        if fuse_reply_open(req, fi) != 0 {
            FileHandle.release(fh)
        }
    }

    func read(_ req: fuse_req_t?, inode: UInt64, size: Int, offset: Int, fh: UInt64, flags: Int32) {
        if openLess { return readWithoutOpen(req, inode: inode, size: size, offset: offset, flags: flags) }
        let nonblocking = flags & O_NONBLOCK != 0
        guard let file = FileHandle.get(fh, as: OpenFile.self) else { return reply(req, .badFileDescriptor) }
        guard inodes.node(inode)?.attached == true else { return reply(req, .operationNotSupportedByDevice) }
        if let records = fileSystem as? RecordFileSystem {
            // A record stream: one whole record per read at the kernel's
            // position; a blocking read at the end waits in this worker
            // thread until a record comes or the reader is interrupted.
            let result = records.readRecord(file.path, offset: offset, size: size, nonblocking: nonblocking,
                                            cancelled: { fuse_req_interrupted(req) != 0 })
            switch result {
            case .success(let bytes): _ = bytes.withUnsafeBytes { fuse_reply_buf(req, $0.baseAddress, $0.count) }
            case .failure(let error): reply(req, error)
            }
            return
        }
        invalidator.deferring(forInode: inode) {
            switch file.read(offset: offset, size: size, show: { fileSystem.show(file.path) }) {
            case .success(let bytes):
                _ = bytes.withUnsafeBytes { fuse_reply_buf(req, $0.baseAddress, $0.count) }
            case .failure(let error):
                reply(req, error)
            }
        }
    }

    /// kernfs_fop_write_iter: one write is one store(); its count or errno
    /// is the write's result. A zero-length write never reaches store.
    func write(_ req: fuse_req_t?, inode: UInt64, data: UnsafeRawBufferPointer, fh: UInt64, flags: Int32) {
        let path: String
        if openLess {
            // kernfs_fop_open's checks, made at the first write instead.
            guard let node = inodes.node(inode) else { return reply(req, .noSuchFileOrDirectory) }
            guard node.attached else { return reply(req, .operationNotSupportedByDevice) }
            if case .failure(let error) = fileSystem.checkOpen(node.path, access: Self.access(flags)) { return reply(req, error) }
            path = node.path
        } else {
            guard let file = FileHandle.get(fh, as: OpenFile.self) else { return reply(req, .badFileDescriptor) }
            guard inodes.node(inode)?.attached == true else { return reply(req, .operationNotSupportedByDevice) }
            path = file.path
        }
        guard data.count > 0 else {
            _ = fuse_reply_write(req, 0)
            return
        }
        let bytes = [UInt8](data)
        let writer = Self.writer(req)
        // A buffered write that fills the page leaves it up to date with
        // the written bytes: stale, to be invalidated like served text.
        if openLess && bytes.count >= 4096 { invalidator.pagesServed(inode) }
        invalidator.deferring(forInode: inode, pagesLocked: openLess) {
            switch fileSystem.store(path, bytes, writer: writer) {
            case .success(let count): _ = fuse_reply_write(req, max(0, count))
            case .failure(let error): reply(req, error)
            }
        }
    }

    /// A read of the page cache with no open behind it: the whole text of
    /// one show(), cut at the kernel's offset (the kernel asks for whole
    /// pages). The open-time checks of kernfs_fop_open are made here.
    private func readWithoutOpen(_ req: fuse_req_t?, inode: UInt64, size: Int, offset: Int, flags: Int32) {
        guard let node = inodes.node(inode) else { return reply(req, .noSuchFileOrDirectory) }
        guard node.attached else { return reply(req, .operationNotSupportedByDevice) }
        if case .failure(let error) = fileSystem.checkOpen(node.path, access: Self.access(flags)) { return reply(req, error) }
        invalidator.deferring(forInode: inode) {
            switch fileSystem.show(node.path) {
            case .success(let bytes):
                let start = min(max(0, offset), bytes.count)
                let end = min(bytes.count, start + max(0, size))
                invalidator.pagesServed(inode)
                _ = bytes[start..<end].withUnsafeBytes { fuse_reply_buf(req, $0.baseAddress, $0.count) }
            case .failure(let error):
                reply(req, error)
            }
        }
    }

    /// Who sent the request: the pid FUSE passes, its comm from /proc, and
    /// whether the kernel has sent FUSE_INTERRUPT for it (the writer got a
    /// signal; a SIGKILLed writer still waits for our reply).
    static func writer(_ req: fuse_req_t?) -> Writer {
        let pid = fuse_req_ctx(req)?.pointee.pid ?? 0
        let request = RequestReference(req)
        return Writer(pid: Int32(pid),
                      command: { ProcessName.command(of: Int32(pid)) },
                      signalPending: { fuse_req_interrupted(request.req) != 0 })
    }

    /// Only SEEK_DATA/SEEK_HOLE get here; answered like
    /// generic_file_llseek over st_size (the whole file is data).
    func lseek(_ req: fuse_req_t?, inode: UInt64, offset: Int, whence: Int32) {
        // <unistd.h> hides these without _GNU_SOURCE; Linux values.
        let seekData: Int32 = 3, seekHole: Int32 = 4
        if whence == seekData, let records = fileSystem as? RecordFileSystem, let node = inodes.node(inode) {
            switch records.firstRecordOffset(node.path) {
            case .success(let first): _ = fuse_reply_lseek(req, off_t(first))
            case .failure(let error): reply(req, error)
            }
            return
        }
        let size: Int
        switch currentStat(inode) {
        case .success(let stat): size = stat.size
        case .failure(let error): return reply(req, error)
        }
        switch whence {
        case seekData where offset >= 0 && offset < size: _ = fuse_reply_lseek(req, off_t(offset))
        case seekHole where offset >= 0 && offset < size: _ = fuse_reply_lseek(req, off_t(size))
        case seekData, seekHole: reply(req, .noSuchAddressOrDevice)
        default: reply(req, .invalidArgument)
        }
    }

    func release(_ req: fuse_req_t?, fh: UInt64) {
        FileHandle.release(fh)
        reply(req, 0)
    }

    // MARK: - Directories

    /// With the kernel's caches on, the first OPENDIR is answered ENOSYS:
    /// the kernel then opens directories itself (`no_opendir`, no
    /// RELEASEDIR either) and keeps what readdir returned in the
    /// directory's page cache (FOPEN_CACHE_DIR) until `treeChanged`
    /// invalidates it. A walk of a tree costs two READDIRs a directory.
    func opendir(_ req: fuse_req_t?, inode: UInt64, fi: UnsafeMutablePointer<fuse_file_info>) {
        if kernelCache { return reply(req, Int32(ENOSYS)) }
        guard let node = inodes.node(inode) else { return reply(req, .noSuchFileOrDirectory) }
        switch makeListing(node, inode: inode) {
        case .success(let handle):
            let fh = FileHandle.make(handle)
            fi.pointee.fh = fh
            if fuse_reply_open(req, fi) != 0 {
                FileHandle.release(fh)
            }
        case .failure(let error):
            reply(req, error)
        }
    }

    /// The listing a directory's readdir offsets index: taken at opendir,
    /// or kept by inode when the kernel opens directories itself.
    private func makeListing(_ node: InodeTable.Node, inode: UInt64) -> Result<DirectoryHandle, Errno> {
        guard node.attached else {
            // kernfs_fop_readdir on a removed directory shows only the dots.
            return .success(DirectoryHandle(inode: inode, path: node.path, attached: false, listing: []))
        }
        return fileSystem.list(node.path).map { DirectoryHandle(inode: inode, path: node.path, listing: $0) }
    }

    /// The directory a readdir reads: its open handle, or (no handle) the
    /// listing kept for its inode.
    private func directory(_ req: fuse_req_t?, inode: UInt64, fh: UInt64) -> DirectoryHandle? {
        let result: Result<DirectoryHandle, Errno>
        if fh != 0 {
            result = FileHandle.get(fh, as: DirectoryHandle.self).map { .success($0) } ?? .failure(.badFileDescriptor)
        } else if let node = inodes.node(inode) {
            result = listings.listing(inode) { makeListing(node, inode: inode) }
        } else {
            result = .failure(.noSuchFileOrDirectory)
        }
        switch result {
        case .success(let dir): return dir
        case .failure(let error): reply(req, error); return nil
        }
    }

    func readdir(_ req: fuse_req_t?, inode: UInt64, size: Int, offset: Int, fh: UInt64) {
        guard let dir = directory(req, inode: inode, fh: fh) else { return }
        guard offset >= 0, offset < dir.entries.count, size > 0 else { return reply(req, 0, buffer: nil) }
        ReplyBuffer.with(size: size) { buffer in fillReaddir(req, dir, size: size, offset: offset, buffer: buffer) }
    }

    private func fillReaddir(_ req: fuse_req_t?, _ dir: DirectoryHandle, size: Int, offset: Int, buffer: UnsafeMutablePointer<CChar>) {
        var used = 0
        var index = offset
        filling: while index < dir.entries.count {
            let batch = dir.entries[index..<min(dir.entries.count, index + Self.listingBatch)]
            for (entry, number) in zip(batch, direntryInodes(batch, in: dir)) {
                var st = Attributes.direntry(type: entry.type, inode: number)
                let needed = entry.name.withCString {
                    fuse_add_direntry(req, buffer + used, size - used, $0, &st, off_t(index + 1))
                }
                if needed > size - used { break filling }
                used += needed
                index += 1
            }
        }
        reply(req, used, buffer: buffer)
    }

    /// Entries are numbered and given attributes a batch at a time.
    private static let listingBatch = 128

    /// d_ino of each entry of a batch: the number a lookup gives it, so
    /// readdir and stat agree; nothing is bound (the kernel holds no
    /// reference). One lock of the inode table for the batch's names.
    private func direntryInodes(_ batch: ArraySlice<DirectoryHandle.Entry>, in dir: DirectoryHandle) -> [UInt64] {
        let named = batch.filter { $0.name != "." && $0.name != ".." }
        var numbers = inodes.numbers(in: dir.path, names: named.map(\.name)).makeIterator()
        return batch.map { entry in
            switch entry.name {
            case ".": return dir.inode
            case "..": return dir.path == "/" ? InodeTable.rootInode : inodes.number(ofPath: TreePath.parent(dir.path))
            default: return numbers.next()!
            }
        }
    }

    /// READDIRPLUS: directories, and the links of a directory of links,
    /// come with their attributes, so `ls -l` of bus/ap/devices and a walk
    /// into subdirectories need no lookup per name; each counts as a lookup
    /// (fuse_direntplus_link), and one that does not fit is given back.
    /// Attribute files and a device's few links come without (node id 0:
    /// the kernel makes no inode for them): they are most of a device tree
    /// (1.2 million of a 65,536-queue host's 1.23), and a walk that only
    /// lists them would otherwise bind every one in the kernel and here.
    func readdirplus(_ req: fuse_req_t?, inode: UInt64, size: Int, offset: Int, fh: UInt64) {
        guard let dir = directory(req, inode: inode, fh: fh) else { return }
        guard offset >= 0, offset < dir.entries.count, size > 0 else { return reply(req, 0, buffer: nil) }
        ReplyBuffer.with(size: size) { buffer in fillReaddirplus(req, dir, size: size, offset: offset, buffer: buffer) }
    }

    private func fillReaddirplus(_ req: fuse_req_t?, _ dir: DirectoryHandle, size: Int, offset: Int,
                                 buffer: UnsafeMutablePointer<CChar>) {
        var used = 0
        var index = offset
        var countedInodes: [UInt64] = []
        // Attributes come a batch at a time, resolved from the directory.
        filling: while index < dir.entries.count {
            let batch = dir.entries[index..<min(dir.entries.count, index + Self.listingBatch)]
            let names = batch.filter { withAttributes($0, in: dir) }.map(\.name)
            let stats = dir.attached && !names.isEmpty ? fileSystem.stats(in: dir.path, names: names) : [:]
            for (entry, number) in zip(batch, direntryInodes(batch, in: dir)) {
                var param = fuse_entry_param()
                var counted: UInt64 = 0
                if !withAttributes(entry, in: dir) {
                    param.attr = Attributes.direntry(type: entry.type, inode: number)
                } else if let stat = stats[entry.name] {
                    let path = TreePath.join(dir.path, entry.name)
                    counted = inodes.remember(path, type: stat.type, stat: stat, lookups: 1)
                    param.ino = counted
                    param.attr = Attributes.make(stat, inode: counted, time: mountTime)
                    param.attr_timeout = attrTimeout
                    param.entry_timeout = entryTimeout
                } else {
                    // Gone since the listing was taken: without attributes.
                    param.attr = Attributes.direntry(type: entry.type, inode: number)
                }
                let needed = entry.name.withCString {
                    fuse_add_direntry_plus(req, buffer + used, size - used, $0, &param, off_t(index + 1))
                }
                if needed > size - used {
                    if counted != 0 { inodes.forget(counted, count: 1) }
                    break filling
                }
                used += needed
                index += 1
                if counted != 0 { countedInodes.append(counted) }
            }
        }
        if fuse_reply_buf(req, buffer, used) != 0 {
            // Never delivered: the kernel took none of these lookups.
            for inode in countedInodes { inodes.forget(inode, count: 1) }
        }
    }

    /// Whether READDIRPLUS gives `entry` its attributes (binding it): the
    /// dots and attribute files never, links only in a directory of links.
    private func withAttributes(_ entry: DirectoryHandle.Entry, in dir: DirectoryHandle) -> Bool {
        switch entry.type {
        case .regularFile: return false
        case .symlink: return dir.linksWithAttributes
        case .directory: return entry.name != "." && entry.name != ".."
        }
    }

    func releasedir(_ req: fuse_req_t?, fh: UInt64) {
        FileHandle.release(fh)
        reply(req, 0)
    }

    // MARK: - Namespace changes: kernfs refuses them all

    /// lookup_open/vfs_create: no ->create on a kernfs dir gives EACCES.
    func create(_ req: fuse_req_t?) { reply(req, .permissionDenied) }

    /// vfs_mknod: regular files go through vfs_create (EACCES), the rest
    /// find no ->mknod (EPERM).
    func mknod(_ req: fuse_req_t?, mode: mode_t) {
        let type = mode & S_IFMT
        reply(req, type == 0 || type == S_IFREG ? .permissionDenied : .notPermitted)
    }

    /// kernfs_iop_rename: flags are refused before the EPERM of sysfs.
    func rename(_ req: fuse_req_t?, flags: UInt32) {
        reply(req, flags != 0 ? .invalidArgument : .notPermitted)
    }

    // MARK: - Extended attributes (kernfs_xattr_handlers)

    /// User xattrs are off for sysfs (no KERNFS_ROOT_SUPPORT_USER_XATTR);
    /// other namespaces are not stored by this simulator.
    func setxattr(_ req: fuse_req_t?, name: String) {
        reply(req, .notSupported)
    }

    /// kernfs has no ACL handler (EOPNOTSUPP for system.posix_acl_*) and
    /// nothing stored under other names (ENODATA), which `ls -l` asks.
    func getxattr(_ req: fuse_req_t?, name: String) {
        reply(req, name.hasPrefix("system.posix_acl_") ? .notSupported : .noData)
    }

    func listxattr(_ req: fuse_req_t?, size: Int) {
        if size == 0 { _ = fuse_reply_xattr(req, 0) } else { reply(req, 0, buffer: nil) }
    }

    func removexattr(_ req: fuse_req_t?, name: String) {
        reply(req, name.hasPrefix("user.") ? .notSupported : .noData)
    }

    // MARK: - Misc

    /// Like sysfs's statfs: 4096-byte blocks, 255-byte names, nothing free.
    func statfs(_ req: fuse_req_t?) {
        var st = statvfs()
        st.f_bsize = 4096
        st.f_frsize = 4096
        st.f_namemax = 255
        _ = fuse_reply_statfs(req, &st)
    }

    // MARK: - Model changes

    /// Observer of the tree: unbinds removed paths now (so a re-created
    /// node gets a new inode) and queues the kernel invalidations.
    func treeChanged(_ changes: ChangeSet) {
        var notices: [Invalidator.Notice] = []
        // Every known node below a removed one goes too, deepest first, so a
        // directory is empty when its own delete goes out (the kernel refuses
        // to delete a directory with a live child: ENOTEMPTY).
        var all = Set(changes.removed)
        // Known children that no longer resolve are removed too.
        for dir in changes.childrenMayHaveGone {
            for child in inodes.knownChildren(of: dir) {
                if case .failure = fileSystem.stat(child) { all.insert(child) }
            }
        }
        for path in Array(all) where path != "/" { all.formUnion(inodes.knownPaths(below: path)) }
        let removed = all.sorted { $0.split(separator: "/").count > $1.split(separator: "/").count }
        for path in removed where path != "/" {
            guard let parent = inodes.inode(ofPath: TreePath.parent(path)) else { continue }
            let name = TreePath.name(path)
            if let child = inodes.inode(ofPath: path) {
                // Cached pages go too: an fd opened before reads ENODEV.
                notices.append(.inode(child))
                notices.append(.delete(parent: parent, child: child, name: name))
            } else {
                notices.append(.entry(parent: parent, name: name))
            }
        }
        for path in removed { inodes.detachSubtree(path) }
        // The kernel's cached listings of bound directories go with the
        // notices below (notify_inval_inode); ours go now.
        if !changes.entriesChanged.isEmpty || !all.isEmpty { listings.invalidateAll() }
        for path in changes.contentChanged + changes.entriesChanged {
            if let inode = inodes.inode(ofPath: path) { notices.append(.inode(inode)) }
        }
        invalidator.submit(notices)
    }

    // MARK: - Helpers

    /// The access an open asked for (READ and WRITE requests carry the
    /// file's f_flags too).
    private static func access(_ flags: Int32) -> OpenAccess {
        switch flags & O_ACCMODE {
        case O_WRONLY: return .writeOnly
        case O_RDWR: return .readWrite
        default: return .readOnly
        }
    }

    private func currentStat(_ inode: UInt64) -> Result<NodeStat, Errno> {
        guard let node = inodes.node(inode) else { return .failure(.noSuchFileOrDirectory) }
        guard node.attached else {
            // The VFS inode of a removed kernfs node still answers stat.
            return node.lastStat.map { .success($0) } ?? .failure(.noSuchFileOrDirectory)
        }
        switch fileSystem.stat(node.path) {
        case .success(let stat) where stat.type == node.type:
            inodes.update(inode, stat: stat)
            return .success(stat)
        case .success:
            // Another node now lives at this path; ours is gone.
            return .failure(.noSuchFileOrDirectory)
        case .failure(let error):
            return .failure(error)
        }
    }

    private func replyAttr(_ req: fuse_req_t?, _ stat: NodeStat, inode: UInt64) {
        var st = Attributes.make(stat, inode: inode, time: mountTime)
        _ = fuse_reply_attr(req, &st, attrTimeout)
    }

    func reply(_ req: fuse_req_t?, _ error: Errno) {
        _ = fuse_reply_err(req, error.rawValue)
    }

    func reply(_ req: fuse_req_t?, _ code: Int32) {
        _ = fuse_reply_err(req, code)
    }

    private func reply(_ req: fuse_req_t?, _ count: Int, buffer: UnsafePointer<CChar>?) {
        _ = fuse_reply_buf(req, buffer, count)
    }
}
