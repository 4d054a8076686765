import Glibc

/// SIGINT, SIGTERM and SIGHUP taken synchronously by one thread, for a
/// command that serves in background threads until told to stop.
enum TerminationSignals {
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    static var set: sigset_t {
        var s = sigset_t()
        sigemptyset(&s)
        for sig in signals { sigaddset(&s, sig) }
        return s
    }

    /// Blocks the signals in the calling thread and every thread it starts
    /// afterwards; call before starting any.
    static func block() {
        var s = set
        pthread_sigmask(SIG_BLOCK, &s, nil)
    }

    /// Unblocks the signals: a host started by a thread that blocks them
    /// (a libdispatch worker, say) must still stop on SIGTERM.
    static func unblock() {
        var s = set
        pthread_sigmask(SIG_UNBLOCK, &s, nil)
    }

    /// Returns when one of the signals arrives or `condition` turns false
    /// (checked every 200 ms).
    static func wait(while condition: () -> Bool) {
        var s = set
        var timeout = timespec(tv_sec: 0, tv_nsec: 200_000_000)
        while condition() {
            if sigtimedwait(&s, nil, &timeout) > 0 { return }
        }
    }
}

/// A server writes replies to clients that may have gone: EPIPE, never a
/// SIGPIPE that ends the host (libfuse's handlers ignore it only inside
/// `FuseMount.run`; exec and `mount --layout overlay` serve without them).
/// Commands a server starts get SIGPIPE back at its default (`spawnDefaults`).
enum BrokenPipes {
    static func ignore() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// posix_spawn attributes that restore SIGPIPE's default action in the
    /// child (an ignored signal stays ignored across execve).
    static func spawnDefaults(_ attributes: inout posix_spawnattr_t) {
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
    }
}
