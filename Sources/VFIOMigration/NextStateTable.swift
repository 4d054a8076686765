import SystemPackage

/// drivers/vfio/vfio_main.c `vfio_mig_get_next_state`: the one arc a driver
/// takes next on its way from `current` to `target`.
public enum NextStateTable {
    private typealias S = MigrationState

    /// The raw step table, row = current, column = target (uAPI order).
    private static let table: [[S]] = [
        /* ERROR */        [.error, .error, .error, .error, .error, .error, .error, .error],
        /* STOP */         [.error, .stop, .runningP2P, .stopCopy, .resuming, .runningP2P, .runningP2P, .runningP2P],
        /* RUNNING */      [.error, .runningP2P, .running, .runningP2P, .runningP2P, .runningP2P, .preCopy, .runningP2P],
        /* STOP_COPY */    [.error, .stop, .stop, .stopCopy, .stop, .stop, .error, .error],
        /* RESUMING */     [.error, .stop, .stop, .stop, .resuming, .stop, .stop, .stop],
        /* RUNNING_P2P */  [.error, .stop, .running, .stop, .stop, .runningP2P, .running, .preCopyP2P],
        /* PRE_COPY */     [.error, .running, .running, .preCopyP2P, .running, .running, .preCopy, .preCopyP2P],
        /* PRE_COPY_P2P */ [.error, .runningP2P, .runningP2P, .stopCopy, .runningP2P, .runningP2P, .preCopy, .preCopyP2P],
    ]

    /// The flags a state needs (`state_flags_table`); ERROR needs all bits,
    /// so it is never supported.
    static func isSupported(_ s: MigrationState, _ flags: MigrationFlags) -> Bool {
        let need: MigrationFlags
        switch s {
        case .stop, .running, .stopCopy, .resuming: need = .stopCopy
        case .runningP2P: need = [.stopCopy, .p2p]
        case .preCopy: need = [.stopCopy, .preCopy]
        case .preCopyP2P: need = [.stopCopy, .p2p, .preCopy]
        case .error: return false
        }
        return flags.isSuperset(of: need)
    }

    /// EINVAL for an unsupported current or target state, or a blocked arc.
    public static func next(from current: MigrationState, to target: MigrationState,
                            flags: MigrationFlags) throws -> MigrationState {
        guard isSupported(current, flags) else { throw Errno.invalidArgument }
        guard isSupported(target, flags) else { throw Errno.invalidArgument }
        var next = table[Int(current.rawValue)][Int(target.rawValue)]
        // Skip optional states the device does not support (stopping at
        // ERROR, as the June 2026 fix does).
        while next != .error && !isSupported(next, flags) {
            next = table[Int(next.rawValue)][Int(target.rawValue)]
        }
        if next == .error { throw Errno.invalidArgument }
        return next
    }

    /// The whole path the driver walks, for display (`migration path`).
    public static func path(from current: MigrationState, to target: MigrationState,
                            flags: MigrationFlags) throws -> [MigrationState] {
        var path: [MigrationState] = []
        var s = current
        while s != target {
            s = try next(from: s, to: target, flags: flags)
            path.append(s)
        }
        return path
    }
}
