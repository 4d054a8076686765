import SystemPackage

/// Secure-execution binding of AP queues inside an SE guest with APSB:
/// ap_queue.c `se_bind_store`, `se_associate_store`. The BS field of the
/// queue's TAPQ hwinfo carries the state (0 usable, 1 usable without secure
/// key, 2 available for binding, 3 unusable).
extension HostState {
    public static let bsUsable = 0
    public static let bsUsableNoSecureKey = 1
    public static let bsAvailableForBinding = 2

    /// `ap_sb_available() && is_prot_virt_guest()`: the queue devices get
    /// the `se_bind` and `se_associate` attributes.
    public var hasSecureBindingAttributes: Bool { machine.qciInfoValid && machine.apsb && machine.secureExecutionGuest }

    /// `ap_q_supports_bind`: EP11 and accelerator queues.
    public func supportsBind(_ q: APQN) -> Bool {
        guard hasSecureBindingAttributes, let hw = adapters[q.card]?.cardHardwareInfo else { return false }
        return hw.ep11 || hw.accel
    }

    /// `ap_q_supports_assoc`: EP11 queues.
    public func supportsAssociation(_ q: APQN) -> Bool {
        hasSecureBindingAttributes && (adapters[q.card]?.cardHardwareInfo.ep11 ?? false)
    }

    /// `se_bind` store: 0 unbinds (RAPQ with the F bit re-initialises the
    /// queue, which is then available for binding again); 1 binds (BAPQ),
    /// EINVAL unless the queue is available for binding, EBUSY while its
    /// reset is still in progress.
    public mutating func secureBind(_ q: APQN, _ bind: Bool) throws {
        guard supportsBind(q), var queue = queues[q] else { throw Errno.invalidArgument }
        if !bind {
            queue.hardwareInfo.bindState = Self.bsAvailableForBinding
            queue.associationIndex = nil
            queue.initialized = true
            queue.resetPending = false
        } else {
            guard queue.hardwareInfo.bindState == Self.bsAvailableForBinding else { throw Errno.invalidArgument }
            if queue.resetPending { throw Errno.resourceBusy }
            // An EP11 queue still needs its association for secure keys.
            queue.hardwareInfo.bindState = supportsAssociation(q) ? Self.bsUsableNoSecureKey : Self.bsUsable
            queue.associationIndex = nil
        }
        queues[q] = queue
        record(.queue(q))
    }

    /// `se_associate` store: index below 0x10000, the queue bound without a
    /// secure key, its state machine idle; the association completes at once.
    public mutating func secureAssociate(_ q: APQN, index: UInt64) throws {
        guard supportsAssociation(q), var queue = queues[q] else { throw Errno.invalidArgument }
        guard index < 0x10000 else { throw Errno.invalidArgument }
        guard queue.hardwareInfo.bindState == Self.bsUsableNoSecureKey else { throw Errno.invalidArgument }
        if queue.resetPending || !queue.initialized { throw Errno.resourceBusy }
        queue.associationIndex = Int(index)
        queue.hardwareInfo.bindState = Self.bsUsable
        queues[q] = queue
        record(.queue(q))
    }
}
