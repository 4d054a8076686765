import SystemPackage

extension Errno {
    /// ENODEV, by the name the kernel sources use for it.
    public static var noDevice: Errno { .operationNotSupportedByDevice }
    /// EOPNOTSUPP (swift-system names it after sockets).
    public static var operationNotSupported: Errno { .notSupportedOnSocket }

    /// glibc's `strerror` text, as QEMU and shells print it.
    public var kernelDescription: String {
        switch self {
        case .notPermitted: return "Operation not permitted"
        case .noSuchFileOrDirectory: return "No such file or directory"
        case .ioError: return "Input/output error"
        case .argListTooLong: return "Argument list too long"
        case .badFileDescriptor: return "Bad file descriptor"
        case .noMemory: return "Cannot allocate memory"
        case .permissionDenied: return "Permission denied"
        case .badAddress: return "Bad address"
        case .resourceBusy: return "Device or resource busy"
        case .fileExists: return "File exists"
        case .noDevice: return "No such device"
        case .invalidArgument: return "Invalid argument"
        case .tooManyOpenFiles: return "Too many open files"
        case .inappropriateIOCTLForDevice: return "Inappropriate ioctl for device"
        case .illegalSeek: return "Illegal seek"
        case .outOfRange: return "Numerical result out of range"
        case .noMessage: return "No message of desired type"
        case .tooManyUsers: return "Too many users"
        case .operationNotSupported: return "Operation not supported"
        case .addressInUse: return "Address already in use"
        case .addressNotAvailable: return "Cannot assign requested address"
        case .resourceTemporarilyUnavailable: return "Resource temporarily unavailable"
        default: return "Unknown error \(rawValue)"
        }
    }
}
