import CFuse
import Foundation

/// Sends cache invalidations to the kernel from its own thread.
///
/// libfuse forbids notifying from inside the handler of a request on the
/// same inode (the kernel holds locks the notification needs), and a model
/// change usually happens inside a `store()` handler. Notices raised on a
/// request thread inside `deferring` are held until that request has been
/// replied; all of them are then sent, in order, by the notifier thread.
final class Invalidator: @unchecked Sendable {
    enum Notice: Equatable {
        /// Attributes and cached pages/readdir of an inode are stale.
        case inode(UInt64)
        /// The name no longer (or newly) resolves; the child is unknown.
        case entry(parent: UInt64, name: String)
        /// The name was removed and `child` is the inode it pointed to.
        case delete(parent: UInt64, child: UInt64, name: String)
    }

    private let condition = NSCondition()
    private var queue: [Notice] = []
    private var session: OpaquePointer?
    private var running = false
    private var threadDone = true
    private var sent = 0

    /// For tests and debugging: how many notices went to the kernel.
    var sentCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return sent
    }

    /// Starts the notifier thread for a mounted session.
    func attach(_ session: OpaquePointer) {
        condition.lock()
        defer { condition.unlock() }
        guard !running else { return }
        self.session = session
        running = true
        threadDone = false
        let thread = Thread { [self] in self.notifierLoop() }
        thread.name = "fuse-invalidator"
        thread.start()
    }

    /// Stops the notifier; pending notices are dropped (the session is
    /// ending). Returns false if a notification was still stuck in the
    /// kernel after `timeout` seconds, in which case the session must not be
    /// freed.
    func detach(timeout: TimeInterval = 2) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        running = false
        queue.removeAll()
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while !threadDone {
            if !condition.wait(until: deadline) { break }
        }
        if threadDone { session = nil }
        return threadDone
    }

    /// Queues notices, or holds them until the current request is replied
    /// when called inside `deferring` on this thread.
    func submit(_ notices: [Notice]) {
        guard !notices.isEmpty else { return }
        if let box = DeferralBox.current, box.depth > 0 {
            box.notices.append(contentsOf: notices)
            return
        }
        enqueue(notices)
    }

    /// Runs a request handler (which replies inside `body`); notices raised
    /// meanwhile on this thread are sent only afterwards.
    func deferring<T>(_ body: () -> T) -> T {
        let box = DeferralBox.currentOrNew()
        box.depth += 1
        let result = body()
        box.depth -= 1
        if box.depth == 0, !box.notices.isEmpty {
            let notices = box.notices
            box.notices.removeAll()
            enqueue(notices)
        }
        return result
    }

    private func enqueue(_ notices: [Notice]) {
        condition.lock()
        defer { condition.unlock() }
        guard running else { return }
        queue.append(contentsOf: notices)
        condition.broadcast()
    }

    private func notifierLoop() {
        blockTerminationSignals()
        condition.lock()
        while true {
            while queue.isEmpty && running { condition.wait() }
            guard running, let session else { break }
            let batch = queue
            queue.removeAll()
            condition.unlock()
            for notice in batch { Self.send(notice, session) }
            condition.lock()
            sent += batch.count
        }
        threadDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// Errors are expected and ignored: ENOENT when the kernel has no such
    /// inode or dentry cached, ENODEV once the connection is gone.
    private static func send(_ notice: Notice, _ session: OpaquePointer) {
        switch notice {
        case .inode(let inode):
            _ = fuse_lowlevel_notify_inval_inode(session, inode, 0, 0)
        case .entry(let parent, let name):
            _ = name.withCString { fuse_lowlevel_notify_inval_entry(session, parent, $0, strlen($0)) }
        case .delete(let parent, let child, let name):
            _ = name.withCString { fuse_lowlevel_notify_delete(session, parent, child, $0, strlen($0)) }
        }
    }
}

/// Per-thread holder of notices deferred until the current reply is sent.
private final class DeferralBox {
    var depth = 0
    var notices: [Invalidator.Notice] = []

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<DeferralBox>.fromOpaque(pointer).release() }
        }
        return key
    }()

    static var current: DeferralBox? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<DeferralBox>.fromOpaque(pointer).takeUnretainedValue()
    }

    static func currentOrNew() -> DeferralBox {
        if let box = current { return box }
        let box = DeferralBox()
        pthread_setspecific(key, Unmanaged.passRetained(box).toOpaque())
        return box
    }
}

/// Threads we create leave SIGINT/SIGTERM/SIGHUP/SIGQUIT to the thread
/// running the loop, as libfuse's own workers do (fuse_start_thread).
func blockTerminationSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&set, signal) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
}
