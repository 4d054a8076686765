import Glibc

/// exec's own mount namespace, made in this process with unshare(2): no
/// util-linux unshare and no second start of vfio-ap-sim. (Its network
/// namespace is made meanwhile on a thread: NetworkNamespace.)
enum PrivateNamespace {
    /// Enters a new mount namespace and makes every mount in it private,
    /// so nothing mounted here reaches the machine's. False when the
    /// process has threads already (a mount namespace is only for a
    /// process whose file system context is its own: EINVAL); the caller
    /// then goes through util-linux unshare.
    static func enter() throws -> Bool {
        if unshare(newMount) != 0 {
            if errno == EINVAL { return false }
            throw UserError("unshare failed: \(String(cString: strerror(errno)))")
        }
        // As `unshare --propagation private`. Nothing may be mounted in a
        // namespace whose mounts still propagate to the machine's: fail hard.
        guard mount("none", "/", nil, UInt(MS_REC) | UInt(MS_PRIVATE), nil) == 0 else {
            throw UserError("cannot make the mounts of exec's namespace private: \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// <sched.h>'s CLONE_NEWNS and CLONE_NEWNET (the Glibc module has neither).
    static let newMount: Int32 = 0x0002_0000, newNetwork: Int32 = 0x4000_0000

    /// unshare(2) is _GNU_SOURCE, which the Glibc module does not declare.
    static func unshare(_ flags: Int32) -> Int32 {
        typealias Unshare = @convention(c) (Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "unshare") else {
            errno = ENOSYS
            return -1
        }
        return unsafeBitCast(symbol, to: Unshare.self)(flags)
    }

    /// setns(2), _GNU_SOURCE as well.
    static func setns(_ fd: Int32, _ type: Int32) -> Int32 {
        typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else {
            errno = ENOSYS
            return -1
        }
        return unsafeBitCast(symbol, to: SetNamespace.self)(fd, type)
    }
}
