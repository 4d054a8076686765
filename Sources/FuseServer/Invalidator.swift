import CFuse
import Foundation
import Sysfs

/// Sends cache invalidations to the kernel.
///
/// Notices are sent at once, on the thread that raised them, so that a
/// write() or a control request returns only after every cached name, page
/// and attribute it made stale is gone: no reader, in any process, sees old
/// text afterwards. The exception: a name notice (delete/entry) about the
/// very inode a request is handling takes that inode's lock in the kernel,
/// which the request holds, so those are held until the request has been
/// replied and sent by the notifier thread. Page and attribute
/// invalidations (notify_inval_inode) take no inode lock and go at once.
final class Invalidator: @unchecked Sendable {
    enum Notice: Equatable {
        /// Attributes and cached pages/readdir of an inode are stale.
        case inode(UInt64)
        /// Only the attributes of an inode are stale.
        case attributes(UInt64)
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
    /// Notices being sent by request or observer threads right now.
    private var inFlight = 0
    /// Inodes whose text the kernel may hold in its page cache: a READ was
    /// answered since their pages were last invalidated (`pagesServed`).
    private var cachedPages = Set<UInt64>()
    /// Buffered writes being handled, per inode (`deferring(pagesLocked:)`).
    private var writesInFlight: [UInt64: Int] = [:]
    /// Handed-over notices the notifier has sent (`sendThroughNotifier`).
    private var notifierSent = 0
    /// Notices ever queued for the notifier, which sends them in order.
    private var notifierQueued = 0

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
        notifierQueued -= queue.count
        queue.removeAll()
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while !threadDone || inFlight > 0 {
            if !condition.wait(until: deadline) { break }
        }
        let done = threadDone && inFlight == 0
        if done { session = nil }
        return done
    }

    /// Sends notices now, but for name notices about the inode of the
    /// request this thread is handling (inside `deferring`), which wait for
    /// its reply.
    func submit(_ notices: [Notice]) {
        guard !notices.isEmpty else { return }
        var now = notices
        var handedOver: [Notice] = []
        if let box = DeferralBox.current, box.depth > 0 {
            // The deletes come deepest first: a directory holding a
            // deferred name cannot be deleted before it either.
            var held: Set<UInt64> = [box.inode]
            now = []
            for n in notices {
                switch n {
                case .delete(let parent, let child, let name) where held.contains(child):
                    // The delete waits; a directory holding the request's
                    // inode is unhashed now all the same (inval_entry locks
                    // only its parent), so no lookup finds it after the reply.
                    box.notices.append(n)
                    if child != box.inode { now.append(.entry(parent: parent, name: name)) }
                    held.insert(parent)
                case .entry(let parent, _) where parent == box.inode:
                    box.notices.append(n)
                default:
                    now.append(n)
                }
            }
        }
        // A buffered write that does not fill its page keeps that page
        // locked until we reply, and invalidating a file's pages waits for
        // that lock: two writers invalidating each other's file would wait
        // for ever. Such a page is not up to date (nothing stale in it)
        // unless we served its text before — then the write found it
        // filled and did not keep it locked. So while a write on a file is
        // being handled, its pages are invalidated only if we served them,
        // through the notifier while we wait (bounded: the kernel may have
        // dropped the page meanwhile, and the write made a new, locked one);
        // otherwise only its attributes are.
        now = now.flatMap { n -> [Notice] in
            guard case .inode(let inode) = n, isBeingWritten(inode) else { return [n] }
            if hasCachedPages(inode) { handedOver.append(n); return [] }
            return [.attributes(inode)]
        }
        sendNow(now)
        if !handedOver.isEmpty { sendThroughNotifier(handedOver, waitingAtMost: 0.2) }
    }

    /// A READ of `inode` is about to be answered into the page cache.
    /// Called before the reply, so a write that finds the page filled also
    /// finds it marked.
    func pagesServed(_ inode: UInt64) {
        condition.lock()
        cachedPages.insert(inode)
        condition.unlock()
    }

    private func isBeingWritten(_ inode: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return writesInFlight[inode, default: 0] > 0
    }

    private func hasCachedPages(_ inode: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return cachedPages.contains(inode)
    }

    /// Marks dropped before their invalidation is sent: a READ answered
    /// meanwhile marks its inode again.
    private func forgetCachedPages(_ notices: [Notice]) {
        condition.lock()
        defer { condition.unlock() }
        guard !cachedPages.isEmpty else { return }
        for case .inode(let inode) in notices { cachedPages.remove(inode) }
    }

    /// Queues notices for the notifier thread and waits until it has sent
    /// them, or `timeout` seconds.
    private func sendThroughNotifier(_ notices: [Notice], waitingAtMost timeout: TimeInterval) {
        condition.lock()
        defer { condition.unlock() }
        guard running else { return }
        queue.append(contentsOf: notices)
        notifierQueued += notices.count
        let target = notifierQueued
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while running && notifierSent < target {
            if !condition.wait(until: deadline) { break }
        }
    }

    private func sendNow(_ notices: [Notice]) {
        guard !notices.isEmpty else { return }
        condition.lock()
        guard running, let session else { condition.unlock(); return }
        inFlight += 1
        condition.unlock()
        forgetCachedPages(notices)
        for n in notices { Self.send(n, session) }
        condition.lock()
        inFlight -= 1
        sent += notices.count
        condition.broadcast()
        condition.unlock()
    }

    /// Runs the handler of a request on `inode` (which replies inside
    /// `body`); name notices about that inode raised meanwhile on this
    /// thread are sent only afterwards.
    /// `pagesLocked`: the request is a buffered write, which may hold a
    /// page of `inode` locked until its reply.
    func deferring<T>(forInode inode: UInt64 = 0, pagesLocked: Bool = false, _ body: () -> T) -> T {
        let box = DeferralBox.currentOrNew()
        let outer = box.inode
        box.depth += 1
        box.inode = inode
        if pagesLocked { countWrite(inode, by: 1) }
        let result = body()
        if pagesLocked { countWrite(inode, by: -1) }
        box.inode = outer
        box.depth -= 1
        if box.depth == 0, !box.notices.isEmpty {
            let notices = box.notices
            box.notices.removeAll()
            enqueue(notices)
        }
        return result
    }

    private func countWrite(_ inode: UInt64, by delta: Int) {
        condition.lock()
        defer { condition.unlock() }
        let count = writesInFlight[inode, default: 0] + delta
        writesInFlight[inode] = count > 0 ? count : nil
    }

    private func enqueue(_ notices: [Notice]) {
        condition.lock()
        defer { condition.unlock() }
        guard running else { return }
        queue.append(contentsOf: notices)
        notifierQueued += notices.count
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
            forgetCachedPages(batch)
            for notice in batch { Self.send(notice, session) }
            condition.lock()
            sent += batch.count
            notifierSent += batch.count
            condition.broadcast()
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
            // The first page holds all of an attribute's text (< 4096 bytes).
            _ = fuse_lowlevel_notify_inval_inode(session, inode, 0, 4096)
        case .attributes(let inode):
            // A negative offset leaves the pages alone (fuse_reverse_inval_inode).
            _ = fuse_lowlevel_notify_inval_inode(session, inode, -1, 0)
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
    /// The inode of the request being handled (0: none).
    var inode: UInt64 = 0
    var notices: [Invalidator.Notice] = []

    private static let boxes = ThreadSlot { DeferralBox() }

    static var current: DeferralBox? { boxes.existing }

    static func currentOrNew() -> DeferralBox { boxes.object }
}

/// Threads we create leave SIGINT/SIGTERM/SIGHUP/SIGQUIT to the thread
/// running the loop, as libfuse's own workers do (fuse_start_thread).
func blockTerminationSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&set, signal) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
}
