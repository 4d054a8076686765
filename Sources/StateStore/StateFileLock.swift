import Glibc

/// One host per state file: an flock on `FILE.lock`, held for the host's
/// life (the file itself is replaced by every save, so it cannot carry the
/// lock). The lock file stays; it holds nothing. Close-on-exec, so that
/// exec's command does not hold it.
public final class StateFileLock {
    private let fd: Int32

    public init(_ file: StateFile) throws {
        let path = file.lockPath
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw StateFileError(file.path, .cannotLock("create \(path): \(StateFile.reason())")) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            let reason = StateFile.reason()
            close(fd)
            throw StateFileError(file.path, busy ? .inUse : .cannotLock("flock \(path): \(reason)"))
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
