/// `enum vfio_device_mig_state` (include/uapi/linux/vfio.h), with its uAPI numbers.
public enum MigrationState: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case error = 0
    case stop = 1
    case running = 2
    case stopCopy = 3
    case resuming = 4
    case runningP2P = 5
    case preCopy = 6
    case preCopyP2P = 7

    /// The uAPI name without its `VFIO_DEVICE_STATE_` prefix.
    public var description: String {
        switch self {
        case .error: return "ERROR"
        case .stop: return "STOP"
        case .running: return "RUNNING"
        case .stopCopy: return "STOP_COPY"
        case .resuming: return "RESUMING"
        case .runningP2P: return "RUNNING_P2P"
        case .preCopy: return "PRE_COPY"
        case .preCopyP2P: return "PRE_COPY_P2P"
        }
    }

    /// Accepts `STOP_COPY`, `stop_copy`, `VFIO_DEVICE_STATE_STOP_COPY` or the number.
    public init?(name: String) {
        var n = name.uppercased()
        if n.hasPrefix("VFIO_DEVICE_STATE_") { n.removeFirst("VFIO_DEVICE_STATE_".count) }
        if let v = UInt32(n), let s = MigrationState(rawValue: v) { self = s; return }
        guard let s = MigrationState.allCases.first(where: { $0.description == String(n.map { $0 == "-" ? "_" : $0 }) }) else { return nil }
        self = s
    }
}

/// `vfio_device_feature_migration.flags`.
public struct MigrationFlags: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let stopCopy = MigrationFlags(rawValue: 1 << 0)
    public static let p2p = MigrationFlags(rawValue: 1 << 1)
    public static let preCopy = MigrationFlags(rawValue: 1 << 2)
}
