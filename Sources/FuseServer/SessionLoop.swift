import CFuse
import Foundation
import Glibc

/// Serves a session's requests in place of libfuse's multi-threaded loop.
///
/// Why: on a small virtual machine most of a FUSE round trip is the two
/// cross-CPU wake-ups, the kernel's of a server thread asleep in read(2)
/// and the server's of the requester (an inter-processor interrupt and a
/// halted vCPU each). A walk or a shell loop sends its next request a few
/// microseconds after the last answer, so the one worker that reads
/// /dev/fuse polls it without blocking for `spin` after each request it
/// handled: the next request is taken without the kernel waking anyone.
/// Only then does it sleep in poll(2).
///
/// One worker reads at a time (no thundering herd, and nobody else asleep
/// in read(2) for the kernel to wake) and handles what it read itself. A
/// request that takes longer than `handoff` (a store that blocks, a reader
/// waiting for the next record, a notice waiting for an inode lock) hands
/// the reading on: another worker, started if none waits, reads the next
/// requests, FUSE_INTERRUPT among them, as libfuse's loop would with a free
/// worker. At most `maxWorkers` run; more than `maxIdle` idle ones end.
final class SessionLoop: @unchecked Sendable {
    struct Settings {
        /// How long the reader polls /dev/fuse after a request before it
        /// sleeps; 0 sleeps at once.
        var spinNanoseconds: UInt64
        /// How long a request may keep the reader before another worker
        /// reads in its place.
        var handoffNanoseconds: UInt64 = 1_000_000
        var maxWorkers: Int
        var maxIdle: Int
    }

    private let session: OpaquePointer
    private let fd: Int32
    private let settings: Settings
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when the reader role is free: followers wait on it.
    private let roleFree = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled when a worker or the watchdog ends: `run` waits on it.
    private let threadEnded = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Wakes the watchdog from its untimed wait.
    private let watchdogWake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    // All guarded by `mutex`.
    private var readerTaken = false
    /// Bumped each time the reader role is given; a worker whose term is
    /// over when its request returns no longer reads.
    private var term: UInt64 = 0
    /// When the reader began handling its current request (monotonic ns);
    /// 0 while it reads.
    private var handlingSince: UInt64 = 0
    private var readerAsleep = false
    private var watchdogParked = false
    private var workers = 0
    private var followers = 0
    private var exiting = false
    private var watchdogRunning = false
    private var result: Int32 = 0

    init(session: OpaquePointer, settings: Settings) {
        self.session = session
        self.fd = fuse_session_fd(session)
        self.settings = settings
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(roleFree, &attributes)
        pthread_cond_init(threadEnded, &attributes)
        pthread_cond_init(watchdogWake, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(roleFree)
        pthread_cond_destroy(threadEnded)
        pthread_cond_destroy(watchdogWake)
        pthread_mutex_destroy(mutex)
        roleFree.deallocate()
        threadEnded.deallocate()
        watchdogWake.deallocate()
        mutex.deallocate()
    }

    /// Serves until the session ends (unmount, abort or an error reading
    /// /dev/fuse) and every worker has returned; the result is 0 or a
    /// negative errno, as `fuse_session_loop_mt`'s.
    func run() -> Int32 {
        let began = begin()
        return began == 0 ? wait() : began
    }

    /// Starts the first worker, then the watchdog, from the calling thread
    /// (FuseMount.start: the first request is served after one thread
    /// start); 0 or a negative errno. `wait()` follows.
    func begin() -> Int32 {
        // Non-blocking reads: the reader polls between them. Replies and
        // notices are writes, which /dev/fuse never refuses for this flag.
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { return -errno }
        pthread_mutex_lock(mutex)
        watchdogRunning = true
        startWorker()
        startThread(name: "fuse-handoff") { $0.watch() }
        pthread_mutex_unlock(mutex)
        return 0
    }

    /// Waits until the session ends and every thread `begin` started has
    /// returned: `run`'s result.
    func wait() -> Int32 {
        pthread_mutex_lock(mutex)
        while workers > 0 || watchdogRunning { pthread_cond_wait(threadEnded, mutex) }
        let result = self.result
        pthread_mutex_unlock(mutex)
        fuse_session_reset(session)
        return result
    }

    // MARK: - Workers

    /// Mutex held.
    private func startWorker() {
        workers += 1
        startThread(name: "fuse-worker") { $0.work() }
    }

    private func startThread(name: String, _ body: @escaping @Sendable (SessionLoop) -> Void) {
        let thread = Thread { [self] in
            // As libfuse's workers: signals go to the thread that mounted.
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_BLOCK, &all, nil)
            body(self)
        }
        thread.name = name
        thread.start()
    }

    private func work() {
        var buffer = fuse_buf()
        defer { free(buffer.mem) }
        pthread_mutex_lock(mutex)
        serving: while !exiting {
            if readerTaken {
                if followers >= settings.maxIdle && workers > 1 { break serving }
                followers += 1
                pthread_cond_wait(roleFree, mutex)
                followers -= 1
                continue
            }
            readerTaken = true
            term &+= 1
            let mine = term
            var spin = false
            while true {
                pthread_mutex_unlock(mutex)
                let received = receive(&buffer, spin: spin)
                pthread_mutex_lock(mutex)
                if received <= 0 {
                    // 0: the session ended (ENODEV after an unmount).
                    if received < 0 { result = received }
                    fuse_session_exit(session)
                    exiting = true
                    pthread_cond_broadcast(roleFree)
                    pthread_cond_signal(watchdogWake)
                    break serving
                }
                handlingSince = Self.now()
                pthread_mutex_unlock(mutex)
                fuse_session_process_buf(session, &buffer)
                pthread_mutex_lock(mutex)
                // The watchdog gave reading to another worker meanwhile.
                guard term == mine else { continue serving }
                handlingSince = 0
                spin = settings.spinNanoseconds > 0
            }
        }
        workers -= 1
        pthread_cond_signal(threadEnded)
        pthread_mutex_unlock(mutex)
    }

    /// The next request, waiting as long as it takes: polled without
    /// blocking for `spinNanoseconds` first when `spin`. Mutex not held.
    private func receive(_ buffer: inout fuse_buf, spin: Bool) -> Int32 {
        let spinEnd = spin ? Self.now() &+ settings.spinNanoseconds : 0
        while true {
            let received = fuse_session_receive_buf(session, &buffer)
            if received != -EAGAIN && received != -EINTR { return received }
            if spin && Self.now() < spinEnd { continue }
            pthread_mutex_lock(mutex)
            readerAsleep = true
            pthread_mutex_unlock(mutex)
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&ready, 1, -1)
            pthread_mutex_lock(mutex)
            readerAsleep = false
            if watchdogParked { pthread_cond_signal(watchdogWake) }
            pthread_mutex_unlock(mutex)
            // POLLERR (the connection ended) makes the read fail ENODEV.
        }
    }

    // MARK: - Watchdog

    /// Hands reading on when a request keeps the reader too long. Ticks
    /// every `handoff` while the reader is awake (so a request is handed on
    /// after one to two `handoff`s) and sleeps untimed while the reader
    /// sleeps in poll(2), which wakes it after.
    private func watch() {
        pthread_mutex_lock(mutex)
        while !exiting {
            let since = handlingSince
            if readerTaken, since != 0, Self.now() &- since >= settings.handoffNanoseconds {
                handOff()
            }
            if readerAsleep {
                watchdogParked = true
                pthread_cond_wait(watchdogWake, mutex)
                watchdogParked = false
            } else {
                var deadline = timespec()
                clock_gettime(CLOCK_MONOTONIC, &deadline)
                let tick = Int(settings.handoffNanoseconds)
                deadline.tv_nsec += tick % 1_000_000_000
                deadline.tv_sec += tick / 1_000_000_000 + deadline.tv_nsec / 1_000_000_000
                deadline.tv_nsec %= 1_000_000_000
                pthread_cond_timedwait(watchdogWake, mutex, &deadline)
            }
        }
        watchdogRunning = false
        pthread_cond_signal(threadEnded)
        pthread_mutex_unlock(mutex)
    }

    /// Mutex held: the reader's request goes on without the reader role.
    private func handOff() {
        readerTaken = false
        handlingSince = 0
        term &+= 1
        if followers > 0 {
            pthread_cond_signal(roleFree)
        } else if workers < settings.maxWorkers {
            startWorker()
        }
        // else: every worker is busy; the first to finish reads again.
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
