import CFuse
import Foundation
import Sysfs
import SystemPackage

/// Serves a `VirtualFileSystem` at a mount point through libfuse's
/// low-level API.
///
/// Lifecycle: `mount()` then either `run()` (blocks until SIGINT/SIGTERM/
/// SIGHUP, `stop()` or an external unmount) or `start()` (serves on a
/// background thread) + `stop()`. When serving ends the mount point is
/// unmounted. Do not call `stop()` from inside a `VirtualFileSystem` call.
public final class FuseMount: @unchecked Sendable {
    public struct Options: Sendable, Equatable {
        /// Shown as the mount source in /proc/mounts.
        public var fsname: String
        /// Shown as "fuse.<subtype>"; nil for plain "fuse".
        public var subtype: String?
        /// Let users other than the mounter in (needs root or
        /// user_allow_other in /etc/fuse.conf).
        public var allowOther: Bool
        /// Let the kernel check mode/uid/gid as for any local file system,
        /// so non-root writers of a 0644 attribute get EACCES like on sysfs.
        public var defaultPermissions: Bool
        /// Worker threads; a store() may block for long, so keep it high.
        public var maxThreads: Int
        /// Idle workers kept around.
        public var maxIdleThreads: Int
        /// How long the worker reading /dev/fuse polls it for the next
        /// request before it sleeps (SessionLoop); 0 sleeps at once.
        /// $VFIO_AP_SIM_SPIN_US, else 50.
        public var spinMicroseconds: Int
        /// libfuse's request trace on stderr.
        public var debug: Bool
        /// Further `-o` mount options, passed as is.
        public var extraOptions: [String]
        /// Let the kernel cache names and attributes (and skip FLUSH),
        /// invalidated exactly when the tree changes; off: every access is a
        /// round trip (entry/attr timeouts 0).
        public var kernelCache: Bool
        /// Also keep the text of attributes opened read-only in the page
        /// cache across opens (no READ while unchanged). Not kernfs's
        /// seq_file semantics: a reader mid-file sees a change, an open fd
        /// of a removed attribute reads its last text instead of ENODEV, and
        /// st_size becomes the text's length after the first read.
        public var pageCache: Bool
        /// Also let opens and closes of attributes stay in the kernel (the
        /// first OPEN is answered ENOSYS: the kernel's `no_open` mode, every
        /// file then reads through the page cache and writes through to one
        /// store each). What the open of kernfs checks moves to the first
        /// read or write: root opening a 0444 attribute for writing gets
        /// EACCES from write(), not open(). Implies `pageCache`.
        public var openLess: Bool

        public init(fsname: String = "vfio-ap-sim",
                    subtype: String? = nil,
                    allowOther: Bool = geteuid() == 0,
                    defaultPermissions: Bool = true,
                    maxThreads: Int = 64,
                    maxIdleThreads: Int = 16,
                    spinMicroseconds: Int = Options.spinFromEnvironment,
                    debug: Bool = false,
                    extraOptions: [String] = [],
                    kernelCache: Bool = true,
                    pageCache: Bool = false,
                    openLess: Bool = false) {
            self.fsname = fsname
            self.subtype = subtype
            self.allowOther = allowOther
            self.defaultPermissions = defaultPermissions
            self.maxThreads = maxThreads
            self.maxIdleThreads = maxIdleThreads
            self.spinMicroseconds = spinMicroseconds
            self.debug = debug
            self.extraOptions = extraOptions
            self.kernelCache = kernelCache
            self.pageCache = pageCache
            self.openLess = openLess
        }

        /// Read once per process (exec makes two mounts, a test many).
        public static let spinFromEnvironment: Int =
            ProcessInfo.processInfo.environment["VFIO_AP_SIM_SPIN_US"].flatMap { Int($0) }.map { max(0, $0) } ?? 50

        var mountOptions: String {
            var list = ["fsname=" + SessionArguments.escape(fsname)]
            if let subtype { list.append("subtype=" + SessionArguments.escape(subtype)) }
            if defaultPermissions { list.append("default_permissions") }
            if allowOther { list.append("allow_other") }
            list += extraOptions
            return list.joined(separator: ",")
        }
    }

    private enum Phase { case idle, mounted, running }

    public let mountpoint: String
    public let options: Options
    /// Called once when serving is about to end (signal, `stop()` or an
    /// external unmount), before the workers are joined: the place to
    /// release stores that block.
    public var willStop: (@Sendable () -> Void)?
    private let handler: RequestHandler
    private let condition = NSCondition()
    private var phase = Phase.idle
    private var session: OpaquePointer?
    private var arguments: SessionArguments?
    private var signalHandlersInstalled = false
    private var exitRequested = false
    private var loopResult: Int32 = 0

    public init(fileSystem: VirtualFileSystem, mountpoint: String, options: Options = Options()) {
        self.handler = RequestHandler(fileSystem: fileSystem, kernelCache: options.kernelCache,
                                      pageCache: options.kernelCache && (options.pageCache || options.openLess),
                                      openLess: options.kernelCache && options.openLess)
        self.mountpoint = mountpoint
        self.options = options
    }

    deinit {
        stop()
    }

    /// True from a successful `mount()` until serving has ended.
    public var isMounted: Bool {
        condition.lock()
        defer { condition.unlock() }
        return phase != .idle
    }

    /// Creates the session and mounts it (fuse_session_new +
    /// fuse_session_mount). Requests queue in the kernel until `run()` or
    /// `start()`.
    public func mount() throws {
        condition.lock()
        defer { condition.unlock() }
        guard phase == .idle else { throw error("already mounted") }

        // libfuse only logs why a mount point is bad; find out ourselves.
        let directory = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory < 0 {
            let code = Errno(rawValue: Glibc.errno)
            throw error("bad mount point: \(code)", code)
        }
        close(directory)

        var argv = ["vfio-ap-sim", "-o", options.mountOptions]
        if options.debug { argv.append("-d") }
        let arguments = SessionArguments(argv)
        var ops = FuseOperations.table()
        let userdata = Unmanaged.passUnretained(handler).toOpaque()
        let (created, newLog) = LibfuseLog.capture {
            fuse_session_new(arguments.args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, userdata)
        }
        guard let session = created else {
            throw error("cannot create FUSE session (options \(options.mountOptions))"
                + (newLog.isEmpty ? "" : ": \(newLog)"))
        }
        let before = Self.openDescriptors()
        let ((result, code), mountLog) = LibfuseLog.capture { () -> (Int32, Int32) in
            let result = fuse_session_mount(session, mountpoint)
            return (result, Glibc.errno)
        }
        if result != 0 {
            fuse_session_destroy(session)
            let reason = mountLog.isEmpty ? String(cString: strerror(code)) : mountLog
            throw error("mount failed: \(reason)", code != 0 ? Errno(rawValue: code) : nil)
        }
        // No child may inherit the connection: libfuse opens /dev/fuse
        // O_CLOEXEC when it mounts itself, but an fd from fusermount3
        // (non-root) comes over a socket without the flag.
        // Nor the socket to fusermount3 that auto_unmount keeps open: every
        // descriptor the mount made is close-on-exec.
        for fd in Self.openDescriptors().subtracting(before).union([fuse_session_fd(session)]) where fd >= 0 {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
        self.session = session
        self.arguments = arguments
        phase = .mounted
        handler.invalidator.attach(session)
        handler.fileSystem.observeChanges { [weak handler] changes in
            handler?.treeChanged(changes)
        }
    }

    /// Read with readdir(3): FileManager's listing cost exec about 0.1 ms
    /// for each of its four.
    private static func openDescriptors() -> Set<Int32> {
        guard let dir = opendir("/proc/self/fd") else { return [] }
        defer { closedir(dir) }
        var descriptors = Set<Int32>()
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let fd = Int32(name) { descriptors.insert(fd) }
        }
        // Not the listing's own descriptor, which closes on return.
        descriptors.remove(dirfd(dir))
        return descriptors
    }

    /// Serves in the calling thread until SIGINT/SIGTERM/SIGHUP, `stop()`
    /// or an external unmount; mounts first if needed. On return the mount
    /// point is unmounted.
    public func run() throws {
        if !isMounted { try mount() }
        condition.lock()
        guard phase == .mounted, let session else {
            condition.unlock()
            throw error("already serving")
        }
        if fuse_set_signal_handlers(session) != 0 {
            condition.unlock()
            throw error("cannot install signal handlers")
        }
        signalHandlersInstalled = true
        phase = .running
        condition.unlock()

        // libfuse's handler only sets the exit flag; the thread that got the
        // signal may not be the one sleeping in the loop, so a watchdog
        // turns the flag into an unmount, which ends the loop for sure.
        let watchdog = Thread { [weak self] in
            blockTerminationSignals()
            while let self, self.watch() { usleep(100_000) }
        }
        watchdog.name = "fuse-watchdog"
        watchdog.start()

        let result = serve(session)
        if result < 0 && result != -ENODEV {
            throw error("session loop failed: \(Errno(rawValue: -result))", Errno(rawValue: -result))
        }
    }

    /// Mounts if needed and serves on a background thread.
    public func start() throws {
        if !isMounted {
            try mount()
            answerInit()
        }
        condition.lock()
        defer { condition.unlock() }
        guard phase == .mounted, let current = session else { throw error("already serving") }
        phase = .running
        // The workers start from here; a thread of its own waits for them.
        let loop = makeLoop(current)
        let began = loop.begin()
        let thread = Thread { [self] in _ = finish(began == 0 ? loop.wait() : began) }
        thread.name = "fuse-session"
        thread.start()
    }

    /// Answers the kernel's INIT, which the mount queued, on this thread:
    /// a caller's first request (exec's stat of the root) is then answered
    /// by a worker without waiting for the serving threads to start, two
    /// thread starts on the way to every exec's first look at its tree.
    /// Anything but a request read (an aborted connection) is left to the
    /// loop, which meets it again.
    private func answerInit() {
        condition.lock()
        nonisolated(unsafe) let current = phase == .mounted ? session : nil
        condition.unlock()
        guard let current else { return }
        var buffer = fuse_buf()
        defer { free(buffer.mem) }
        if fuse_session_receive_buf(current, &buffer) > 0 { fuse_session_process_buf(current, &buffer) }
    }

    /// Ends serving: unmounts and waits for the loop (and any request still
    /// being handled) to finish. Safe to call more than once.
    public func stop() {
        condition.lock()
        defer { condition.unlock() }
        switch phase {
        case .idle:
            return
        case .mounted:
            teardown()
        case .running:
            requestExit()
            while phase == .running { condition.wait() }
        }
    }

    /// For a process that exits without `stop()` (the kernel then ends the
    /// session): what `stop()` does before it unmounts, so that nothing
    /// waiting in the file system is cut off with ECONNABORTED. `willStop`
    /// runs (it releases stores that block), readers waiting for the next
    /// record are let go, and the stores so released get up to `timeout`
    /// seconds to answer. The session serves on.
    public func releaseWaiters(timeout: TimeInterval = 2) {
        willStop?()
        (handler.fileSystem as? RecordFileSystem)?.stopWaiting()
        PendingWrites.drain(Unmanaged.passUnretained(handler).toOpaque(), timeout: timeout)
    }

    // MARK: - Internals

    private func serve(_ session: OpaquePointer) -> Int32 {
        finish(makeLoop(session).run())
    }

    private func makeLoop(_ session: OpaquePointer) -> SessionLoop {
        SessionLoop(session: session, settings: .init(
            spinNanoseconds: UInt64(max(0, options.spinMicroseconds)) * 1_000,
            maxWorkers: max(1, options.maxThreads),
            maxIdle: max(1, min(options.maxIdleThreads, options.maxThreads))))
    }

    /// Serving has ended with `result`: the session is taken down.
    private func finish(_ result: Int32) -> Int32 {
        condition.lock()
        teardown()
        loopResult = result
        condition.broadcast()
        condition.unlock()
        return result
    }

    /// Watchdog step (lock not held): false once serving has ended.
    private func watch() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard phase == .running, let session else { return false }
        if !exitRequested && fuse_session_exited(session) != 0 { requestExit() }
        return true
    }

    /// Lock held. Sets the exit flag and unmounts, which makes the kernel
    /// end the connection: every worker's read of /dev/fuse then fails with
    /// ENODEV and the loop returns. A busy mount is forced (fuse_umount_begin
    /// aborts the connection, so pending requests fail like after a
    /// libfuse exit) and then detached.
    private func requestExit() {
        guard phase == .running, !exitRequested, let session else { return }
        exitRequested = true
        // Let the file system end requests that would wait forever (libfuse
        // joins its workers before the loop returns).
        willStop?()
        // Readers waiting for the next record would keep workers busy.
        (handler.fileSystem as? RecordFileSystem)?.stopWaiting()
        // The stores released above answer (ENODEV for a blocked mdev
        // removal) before the unmount aborts the connection, which would
        // fail them ECONNABORTED. Bounded: a store that does not end is
        // aborted as before.
        PendingWrites.drain(Unmanaged.passUnretained(handler).toOpaque(), timeout: 2)
        fuse_session_exit(session)
        if geteuid() == 0 {
            if umount2(mountpoint, 0) != 0 && Glibc.errno == EBUSY {
                _ = umount2(mountpoint, Int32(MNT_FORCE))
                _ = umount2(mountpoint, Int32(MNT_DETACH))
            }
        } else {
            let fusermount = Process()
            fusermount.executableURL = URL(fileURLWithPath: "/usr/bin/fusermount3")
            fusermount.arguments = ["-u", "-z", mountpoint]
            try? fusermount.run()
            fusermount.waitUntilExit()
        }
    }

    /// Lock held. Stops notifications, unmounts (a no-op when the kernel
    /// already dropped the connection) and frees the session.
    private func teardown() {
        guard let session else { return }
        let notifierStopped = handler.invalidator.detach()
        fuse_session_unmount(session)
        if signalHandlersInstalled {
            fuse_remove_signal_handlers(session)
            signalHandlersInstalled = false
        }
        if notifierStopped {
            fuse_session_destroy(session)
            arguments = nil
        } else {
            // A notification is stuck in the kernel and still uses the
            // session: leak it rather than free it under that thread.
            Self.leaked.append(arguments)
        }
        self.session = nil
        exitRequested = false
        phase = .idle
    }

    nonisolated(unsafe) private static var leaked: [SessionArguments?] = []

    private func error(_ reason: String, _ code: Errno? = nil) -> FuseMountError {
        FuseMountError(mountpoint: mountpoint, reason: reason, errno: code)
    }
}
