import SystemPackage

/// Which driver owns each queue device: ap_bus.c `ap_bus_match`,
/// `ap_device_probe`, `__ap_revise_reserved`, and vfio_ap's queue probe and
/// remove (`vfio_ap_mdev_probe_queue`, `vfio_ap_mdev_remove_queue`).
extension HostState {
    /// Whether the APQN is reserved for the default drivers by apmask x aqmask.
    public func isReservedForDefaultDrivers(_ q: APQN) -> Bool {
        bus.apmask.contains(q.card) && bus.aqmask.contains(q.domain)
    }

    /// The driver `ap_device_probe` accepts for the queue, if any: with a
    /// driver_override only the named driver (if it exists), otherwise the
    /// default driver for reserved APQNs and vfio_ap for the others.
    public func acceptedDriver(for q: APQN) -> QueueDriver? {
        guard let queue = queues[q] else { return nil }
        return acceptedDriver(for: queue, at: q)
    }

    /// The same for a queue device not in `queues` yet.
    func acceptedDriver(for queue: Queue, at q: APQN) -> QueueDriver? {
        if let name = queue.driverOverride { return QueueDriver(rawValue: name) }
        return isReservedForDefaultDrivers(queue.apqn) ? .cex4queue : .vfioAP
    }

    /// Binds a queue device to `driver`; the caller checked that the probe accepts it.
    mutating func attachQueue(_ q: APQN, to driver: QueueDriver) {
        guard var queue = queues[q], queue.driver == nil else { return }
        queue.bind(to: driver)
        queues[q] = queue
        record(.queueBinding(q))
        record(.busAttributes)
        if driver == .vfioAP { vfioProbeQueue(q) }
        // driver_bound, after the probe.
        record(.announced(.bind(.queue(q))))
    }

    /// Unbinds a queue device from its driver (`ap_device_remove`):
    /// `ap_queue_remove` leaves the device UNINITIATED.
    mutating func detachQueue(_ q: APQN) {
        guard var queue = queues[q], let driver = queue.driver else { return }
        if driver == .vfioAP { vfioRemoveQueue(q) }
        queue.driver = nil
        queue.initialized = false
        queues[q] = queue
        record(.queueBinding(q))
        record(.busAttributes)
        record(.announced(.unbind(.queue(q))))
    }

    /// `ap_bus_revise_bindings`: reprobe every bound queue whose reservation
    /// no longer fits its driver's DEFAULT flag (queues with a driver_override
    /// are left alone).
    mutating func reviseBindings() {
        for q in queues.keys.sorted() {
            guard let queue = queues[q], queue.driverOverride == nil, let driver = queue.driver else { continue }
            if driver.isDefault != isReservedForDefaultDrivers(q) {
                detachQueue(q)
                if let d = acceptedDriver(for: q) { attachQueue(q, to: d) }
            }
        }
    }

    /// `bus_rescan_devices`: every unbound queue device gets a probe.
    mutating func attachUnboundQueues() {
        for q in queues.keys.sorted() where queues[q]?.driver == nil {
            if let d = acceptedDriver(for: q) { attachQueue(q, to: d) }
        }
    }

    // MARK: - vfio_ap queue driver

    /// `vfio_ap_mdev_probe_queue`: link the queue to the mdev that has its
    /// APQN, re-filter and hot plug; during a bus scan that added adapters
    /// or domains of the mdev, the end of the scan does that instead.
    mutating func vfioProbeQueue(_ q: APQN) {
        guard let i = mdevIndex(assigning: q) else { return }
        if deferringHotPlug(mdevs[i].uuid) { return }
        refilterAndHotPlug(i)
    }

    /// `vfio_ap_mdev_remove_queue`: if the guest has the APQN, its whole
    /// adapter is hot unplugged and that adapter's queues reset; the queue
    /// is reset either way.
    mutating func vfioRemoveQueue(_ q: APQN) {
        if let i = mdevIndex(assigning: q) {
            var m = mdevs[i]
            if m.shadow.adapters.contains(q.card) && m.shadow.domains.contains(q.domain) {
                m.shadow.adapters.remove(q.card)
                mdevs[i] = m
                record(.mdev(m.uuid))
                guestConfigurationChanged(i)
                resetQueues(ofAdapters: [q.card], in: i)
            }
            record(.queue(q))
        }
        resetQueue(q)
    }

    /// A queue reset (ZAPQ): clears the pending requests; the response code
    /// tells `_queue_passable` whether the queue may go to a guest.
    public mutating func resetQueue(_ q: APQN) {
        guard var queue = queues[q] else { return }
        queue.resetResponseCode = !isConfigured(q) ? 3 : (isCheckstopped(q) ? 4 : 0)
        queues[q] = queue
        record(.queue(q))
    }

    mutating func resetQueues(ofAdapters adapters: [Int], in mdevIndex: Int) {
        let doms = mdevs[mdevIndex].matrix.domains.ids
        for a in adapters { for d in doms { resetQueue(APQN(card: a, domain: d)) } }
    }
}
