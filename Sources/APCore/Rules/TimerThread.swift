import Glibc

/// One thread that runs every host's timers in the process, each at its
/// deadline (CLOCK_MONOTONIC nanoseconds, the clock of DispatchTime's
/// uptime). A DispatchSource timer per host started libdispatch's manager
/// and a worker or two in every process that booted a host: about 2 ms of
/// CPU for each `exec`, which most often ends long before a first scan is
/// due. This thread starts with the first deadline and sleeps in
/// pthread_cond_timedwait until the earliest one.
final class TimerThread: @unchecked Sendable {
    static let shared = TimerThread()

    private struct Entry {
        var due: UInt64
        var fire: @Sendable () -> Void
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var entries: [Int: Entry] = [:]
    private var lastToken = 0
    private var started = false

    private init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(wake, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    /// A token for one timer's deadlines.
    func makeToken() -> Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        lastToken += 1
        return lastToken
    }

    /// Runs `fire` on this thread at `due` (replacing the timer's pending
    /// deadline, if any); `fire` runs without any lock held, so it may
    /// schedule again.
    func schedule(_ token: Int, at due: UInt64, fire: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        entries[token] = Entry(due: due, fire: fire)
        if !started {
            started = true
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { _ in TimerThread.shared.run() }, nil)
            precondition(rc == 0, "cannot start the timer thread: \(String(cString: strerror(rc)))")
            pthread_detach(thread)
        }
        pthread_cond_signal(wake)
    }

    /// The timer's pending deadline, if any, does not fire.
    func cancel(_ token: Int) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if entries.removeValue(forKey: token) != nil { pthread_cond_signal(wake) }
    }

    private func run() -> UnsafeMutableRawPointer? {
        // Signals go to the threads that handle them, never here.
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, nil)
        pthread_mutex_lock(mutex)
        while true {
            guard let (token, next) = entries.min(by: { $0.value.due < $1.value.due }) else {
                pthread_cond_wait(wake, mutex)
                continue
            }
            if Self.now() >= next.due {
                entries.removeValue(forKey: token)
                pthread_mutex_unlock(mutex)
                next.fire()
                pthread_mutex_lock(mutex)
            } else {
                var deadline = timespec(tv_sec: Int(next.due / 1_000_000_000), tv_nsec: Int(next.due % 1_000_000_000))
                pthread_cond_timedwait(wake, mutex, &deadline)
            }
        }
    }

    static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }
}
