/// The AP bus scan: ap_bus.c `ap_scan_bus`, `ap_get_configuration`,
/// `ap_select_domain`, `ap_scan_adapter`, `ap_scan_domains`. It brings the
/// kernel's view (`hostConfig`, the card and queue devices, their `config`
/// and `chkstop`) up to what the machine answers (`hardware`, TAPQ), and
/// tells vfio_ap about a configuration change before and after.
extension HostState {
    /// One AP bus scan: from `scans_store` (`ap_bus_force_rescan`), the
    /// CHSC notification of a configuration change (`ap_bus_cfg_chg`), a
    /// card `config` write, or the rescan timer every `config_time` seconds.
    /// Each counts, and each re-arms the timer.
    public mutating func rescanBus() {
        let old = hostConfig
        // ap_get_configuration: QCI again; a machine without QCI info
        // reports no change.
        let configChanged = machine.qciInfoValid && hardware.config != old
        if configChanged {
            hostConfig = hardware.config
            record(.busAttributes)
            // notify_config_changed → vfio_ap_on_cfg_changed(new, old).
            vfioConfigurationChanged(new: hostConfig, old: old)
        }
        selectDefaultDomain()
        for id in 0...machine.maxAdapterID { scanAdapter(id) }
        // notify_scan_complete → vfio_ap_on_scan_complete.
        if configChanged { vfioScanComplete() }
        bus.scans += 1
        bus.nextScanAt = now + UInt64(bus.configTime) * 1_000_000_000
        record(.busAttributes)
    }

    /// Whether a scan would change anything the kernel shows: the machine
    /// differs from the kernel's view of it.
    public var scanPending: Bool {
        if machine.qciInfoValid && hardware.config != hostConfig { return true }
        for (id, a) in adapters where a.cardDevice {
            let t = adapterTAPQ(id)
            if a.configured == t.deconfigured || a.checkstopped != t.checkstopped { return true }
        }
        for (q, queue) in queues {
            guard let t = tapq(q) else { return true }
            if queue.config == t.deconfigured || queue.chkstop != t.checkstopped { return true }
        }
        return false
    }

    /// What TAPQ says of the adapter as a whole: the card device's `config`
    /// and `chkstop` follow its SCLP and checkstop state (per-queue states
    /// of a topology reach only the queues).
    func adapterTAPQ(_ id: Int) -> (deconfigured: Bool, checkstopped: Bool) {
        let deconfigured = hardware.deconfigured.contains(id)
        return (deconfigured, !deconfigured && hardware.checkstopped.contains(id))
    }

    /// `ap_scan_adapter`'s search for a valid APQN: the first usage domain
    /// of the configuration that TAPQ answers for with hardware info.
    func firstValidAPQN(ofAdapter id: Int) -> TAPQAnswer? {
        for d in hostConfig.domains.ids {
            if let t = tapq(APQN(card: id, domain: d)), t.hardwareInfo.value != 0 { return t }
        }
        return nil
    }

    /// `ap_select_domain`: only while there is no default domain, the first
    /// domain of the configuration and aqmask with a queue that answers
    /// TAPQ normally on an adapter of the configuration and apmask.
    mutating func selectDefaultDomain() {
        guard bus.defaultDomain < 0 else { return }
        let cards = hostConfig.adapters.intersection(bus.apmask).ids
        for dom in hostConfig.domains.intersection(bus.aqmask).ids {
            for card in cards {
                guard let t = tapq(APQN(card: card, domain: dom)), !t.deconfigured, !t.checkstopped else { continue }
                bus.defaultDomain = dom
                record(.busAttributes)
                return
            }
        }
    }

    /// `ap_scan_adapter`: a card leaving the configuration, or left without
    /// a usable APQN, loses its device and its queues'; a new one gets
    /// them; an existing one takes on the adapter's checkstop and config
    /// state (only a config change is announced).
    mutating func scanAdapter(_ id: Int) {
        let hasCard = hasCardDevice(id)
        guard hostConfig.adapters.contains(id) else {
            if hasCard { removeCardDevice(id) }
            return
        }
        guard let answer = firstValidAPQN(ofAdapter: id), answer.hardwareInfo.apType != 0 else {
            if hasCard { removeCardDevice(id) }
            return
        }
        if hasCard {
            updateCardState(id)
        } else {
            guard APDeviceType.compatible(rawType: answer.hardwareInfo.apType, qact: machine.qact) != 0 else { return }
            createCardDevice(id)
        }
        scanDomains(id)
    }

    private mutating func updateCardState(_ id: Int) {
        guard let card = adapters[id] else { return }
        let t = adapterTAPQ(id)
        if card.checkstopped != t.checkstopped {
            // "card dev checkstop on/off": AP_DBF only, no uevent.
            adapters[id]?.checkstopped = t.checkstopped
            record(.card(id))
        }
        if card.configured == t.deconfigured {
            adapters[id]?.configured = !t.deconfigured
            record(.card(id))
            record(.announced(.change(.card(id), ["CONFIG=\(t.deconfigured ? 0 : 1)"])))
        }
    }

    /// `ap_scan_domains`: queue devices for the configuration's usage
    /// domains TAPQ answers for, none for the others; an existing device
    /// takes on its queue's checkstop or config state, one change per scan.
    mutating func scanDomains(_ id: Int) {
        guard let adapter = adapters[id] else { return }
        // The domains TAPQ answers for on this adapter: the machine's.
        let answering = hardware.config.adapters.contains(id) ? hardware.config.domains : APMask()
        for d in 0...machine.maxDomainID {
            let q = APQN(card: id, domain: d)
            let wanted = hostConfig.domains.contains(d) && answering.contains(d)
            guard let queue = queues[q] else {
                if wanted, let t = tapq(q), t.hardwareInfo.value != 0 { createQueueDevice(q, t) }
                continue
            }
            guard wanted else {
                removeQueueDevice(q)
                continue
            }
            let t = tapqAnswer(adapter, queue)
            if queue.chkstop != t.checkstopped || queue.config == t.deconfigured { updateQueueState(q, t) }
        }
    }

    private mutating func updateQueueState(_ q: APQN, _ t: TAPQAnswer) {
        guard var queue = queues[q] else { return }
        var event: String?
        if t.checkstopped != queue.chkstop {
            // Checkstop on: dev_state ERROR and pending requests flushed;
            // off: the queue is re-initialised (_ap_queue_init_state). No uevent.
            queue.chkstop = t.checkstopped
            if !t.checkstopped { reinitialise(&queue) }
        } else if t.deconfigured == queue.config {
            queue.config = !t.deconfigured
            if queue.config { reinitialise(&queue) }
            event = "CONFIG=\(queue.config ? 1 : 0)"
        } else {
            return
        }
        queues[q] = queue
        record(.queue(q))
        if let event { record(.announced(.change(.queue(q), [event]))) }
    }

    /// `_ap_queue_init_state` on a queue past UNINITIATED: the reset runs
    /// and completes (the queue ends idle, its association gone).
    private func reinitialise(_ queue: inout Queue) {
        guard queue.initialized else { return }
        queue.resetPending = false
        queue.associationIndex = nil
    }

    /// A new card device: `ap_card_create`, `device_register` (KOBJ_ADD),
    /// then the driver core probes it (cex4card takes every CEX4+ card).
    mutating func createCardDevice(_ id: Int) {
        guard var card = adapters[id] else { return }
        let t = adapterTAPQ(id)
        card.cardDevice = true
        card.configured = !t.deconfigured
        card.checkstopped = t.checkstopped
        card.zcryptOnline = true
        card.boundToCEX4Card = false
        card.requestCount = 0
        card.load = 0
        adapters[id] = card
        record(.cardAdded(id))
        record(.card(id))
        record(.announced(.add(.card(id))))
        // ap_device_probe re-arms the bindings-complete completion.
        bus.bindingsWereComplete = false
        if bus.driversAutoprobe["ap"] ?? true {
            adapters[id]?.bindToCEX4Card()
            record(.cardBinding(id))
            record(.announced(.bind(.card(id))))
        }
    }

    /// `ap_scan_rm_card_dev_and_queue_devs`: each queue device unregistered
    /// (its driver's remove, KOBJ_UNBIND, KOBJ_REMOVE), then the card's.
    mutating func removeCardDevice(_ id: Int) {
        for d in 0...machine.maxDomainID where queues[APQN(card: id, domain: d)] != nil {
            removeQueueDevice(APQN(card: id, domain: d))
        }
        if adapters[id]?.boundToCEX4Card == true {
            adapters[id]?.boundToCEX4Card = false
            record(.cardBinding(id))
            record(.announced(.unbind(.card(id))))
        }
        adapters[id]?.cardDevice = false
        record(.cardRemoved(id))
        record(.announced(.remove(.card(id))))
    }

    /// A new queue device (`ap_queue_create`, `device_register`): it starts
    /// with what TAPQ answered and a fresh kernel state (no driver, no
    /// driver_override, counters at 0), is probed by the driver apmask and
    /// aqmask choose, and a configured one not in checkstop is initialised.
    mutating func createQueueDevice(_ q: APQN, _ t: TAPQAnswer) {
        var queue: Queue
        if let parked = hardware.parkedQueues.removeValue(forKey: q) {
            queue = Queue(apqn: q, hardwareInfo: parked.hardwareInfo)
            queue.configuredOverride = parked.configuredOverride
            queue.checkstopped = parked.checkstopped
            queue.masterKeys = parked.masterKeys
        } else {
            queue = Queue(apqn: q, hardwareInfo: t.hardwareInfo)
            queue.masterKeys = Queue.unloadedMasterKeys(for: t.hardwareInfo)
        }
        queue.config = !t.deconfigured
        queue.chkstop = t.checkstopped
        queues[q] = queue
        record(.queueAdded(q))
        record(.queue(q))
        record(.busAttributes)
        record(.announced(.add(.queue(q))))
        // reinit_completion: new APQNs have to be bound before the bindings
        // are complete again.
        bus.bindingsWereComplete = false
        if bus.driversAutoprobe["ap"] ?? true, let d = acceptedDriver(for: q) { attachQueue(q, to: d) }
        if !t.deconfigured && !t.checkstopped {
            // ap_queue_init_state after device_register.
            queues[q]?.initialized = true
            queues[q]?.resetPending = false
        }
    }

    /// `device_unregister` of a queue device: the driver's remove
    /// (`ap_device_remove`, vfio_ap's `vfio_ap_mdev_remove_queue`), then
    /// KOBJ_REMOVE. The machine keeps the queue's hardware side.
    mutating func removeQueueDevice(_ q: APQN) {
        detachQueue(q)
        guard let queue = queues.removeValue(forKey: q) else { return }
        hardware.parkedQueues[q] = queue
        record(.queueRemoved(q))
        record(.busAttributes)
        record(.announced(.remove(.queue(q))))
    }
}
