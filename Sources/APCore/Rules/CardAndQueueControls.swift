import SystemPackage

/// Card and queue attribute semantics: ap_card.c, ap_queue.c, zcrypt_card.c,
/// zcrypt_queue.c, plus the emulator's own per-queue `hwinfo`.
extension HostState {
    /// zcrypt's view of a queue: bound to cex4queue, configured, not
    /// checkstopped and online (`zq->online`).
    public func isZcryptQueueOnline(_ q: APQN) -> Bool {
        guard let queue = queues[q], queue.driver == .cex4queue else { return false }
        return isConfigured(q) && !isCheckstopped(q) && queue.zcryptOnline
    }

    /// Whether a card-info request reaches the card (`cca_get_info` /
    /// `ep11_get_card_info` with AUTOSEL_DOM): the zcrypt card is online and
    /// at least one of its domains is. There is no info cache since v6.16.
    public func cardReachable(_ id: Int) -> Bool {
        guard let card = adapters[id], card.boundToCEX4Card,
              card.configured, !card.checkstopped, card.zcryptOnline else { return false }
        return queueAPQNs(ofCard: id).contains { isZcryptQueueOnline($0) }
    }

    /// Card `config` store (`config_store`): SCLP configures or
    /// deconfigures the adapter when the card's state differs, the card
    /// takes the value and announces it (even unchanged). The queues follow
    /// at the bus scan SCLP's configuration-change notification triggers.
    public mutating func setCardConfigured(_ id: Int, _ on: Bool) throws {
        guard hasCardDevice(id), let card = adapters[id] else { throw Errno.noDevice }
        if on != card.configured {
            if on { hardware.deconfigured.remove(id) } else { hardware.deconfigured.insert(id) }
        }
        adapters[id]?.configured = on
        record(.card(id))
        record(.announced(.change(.card(id), ["CONFIG=\(on ? 1 : 0)"])))
        rescanBus()
    }

    /// zcrypt card `online` store: ENODEV when going online while the card
    /// is deconfigured or checkstopped; the value goes to every queue.
    public mutating func setCardOnline(_ id: Int, _ on: Bool) throws {
        guard hasCardDevice(id), let card = adapters[id] else { throw Errno.noDevice }
        if on && (!card.configured || card.checkstopped) { throw Errno.noDevice }
        adapters[id]?.zcryptOnline = on
        record(.card(id))
        // online_store (zcrypt_card.c): the card's ONLINE= event, then
        // zcrypt_queue_force_online sends one for every queue.
        record(.announced(.change(.card(id), ["ONLINE=\(on ? 1 : 0)"])))
        for q in queueAPQNs(ofCard: id) where queues[q]?.driver == .cex4queue {
            queues[q]?.zcryptOnline = on
            record(.queue(q))
            record(.announced(.change(.queue(q), ["ONLINE=\(on ? 1 : 0)"])))
        }
    }

    /// zcrypt queue `online` store: ENODEV going online while the queue or
    /// its card is deconfigured/checkstopped; EINVAL while the card is offline.
    public mutating func setQueueOnline(_ q: APQN, _ on: Bool) throws {
        guard hasCardDevice(q.card), let card = adapters[q.card], queues[q] != nil else { throw Errno.noDevice }
        if on {
            if !isConfigured(q) || isCheckstopped(q) { throw Errno.noDevice }
            if !card.zcryptOnline { throw Errno.invalidArgument }
        }
        queues[q]?.zcryptOnline = on
        record(.queue(q))
        record(.announced(.change(.queue(q), ["ONLINE=\(on ? 1 : 0)"])))
    }

    /// Card `request_count` store: zeroes the counters of the card's bound
    /// queues and the card's own.
    public mutating func resetCardRequestCounts(_ id: Int) {
        for q in queueAPQNs(ofCard: id) where queues[q]?.driver != nil {
            queues[q]?.requestCount = 0
            record(.queue(q))
        }
        adapters[id]?.requestCount = 0
        record(.card(id))
    }

    /// Queue `request_count` store.
    public mutating func resetQueueRequestCount(_ q: APQN) {
        queues[q]?.requestCount = 0
        record(.queue(q))
    }

    /// Queue `reset` store: flush and RESET_START; the state machine only runs
    /// for an initialised, configured, not checkstopped queue, which then ends idle.
    public mutating func requestQueueReset(_ q: APQN) {
        guard var queue = queues[q] else { return }
        queue.resetPending = !(queue.initialized && isConfigured(q) && !isCheckstopped(q))
        queues[q] = queue
        record(.queue(q))
    }

    /// The emulator's `hwinfo` store: the queue's TAPQ GR2 value changes, and
    /// with it what derives from it (`ap_functions`, mode, AP type).
    public mutating func setQueueHardwareInfo(_ q: APQN, _ value: UInt64) throws {
        guard queues[q] != nil else { throw Errno.noDevice }
        queues[q]?.hardwareInfo = HardwareInfo(value: value)
        record(.queue(q))
        if let i = mdevIndex(assigning: q) { record(.mdev(mdevs[i].uuid)) }
    }
}
