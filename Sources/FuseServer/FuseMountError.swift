import SystemPackage

/// Why a mount could not be set up or served.
public struct FuseMountError: Error, CustomStringConvertible, Equatable, Sendable {
    public var mountpoint: String
    public var reason: String
    /// The underlying errno, when one is known.
    public var errno: Errno?

    public init(mountpoint: String, reason: String, errno: Errno? = nil) {
        self.mountpoint = mountpoint
        self.reason = reason
        self.errno = errno
    }

    public var description: String { "FUSE mount at \(mountpoint): \(reason)" }
}
