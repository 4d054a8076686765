import SystemPackage

/// /sys/bus/ap attribute semantics (ap_bus.c, "AP bus attributes"). Values
/// arrive parsed; the syntax rules live in Sysfs.
extension HostState {
    /// `apmask_store` → `apmask_commit`: EINVAL while a driver_override is
    /// set; EBUSY when newly reserved adapters hold queues of an mdev;
    /// otherwise commit and reprobe the bindings.
    public mutating func setAPMask(_ new: APMask) throws {
        try commitMask(new, adapters: true)
    }

    /// `aqmask_store` → `aqmask_commit`.
    public mutating func setAQMask(_ new: APMask) throws {
        try commitMask(new, adapters: false)
    }

    private mutating func commitMask(_ new: APMask, adapters: Bool) throws {
        if driverOverrideCount > 0 { throw Errno.invalidArgument }
        let old = adapters ? bus.apmask : bus.aqmask
        guard new != old else { return }
        let reserved = new.subtracting(old)
        if !reserved.isEmpty {
            // __verify_card_reservations / __verify_queue_reservations call
            // vfio_ap's in_use() with the other mask all ones.
            let inUse = adapters
                ? conflictsWithOtherMdev(adapters: reserved, domains: .allOnes, assignee: nil)
                : conflictsWithOtherMdev(adapters: .allOnes, domains: reserved, assignee: nil)
            if inUse { throw Errno.resourceBusy }
        }
        if adapters { bus.apmask = new } else { bus.aqmask = new }
        record(.busAttributes)
        reviseBindings()
        // ap_send_mask_changed_uevent: the value keeps the format's newline.
        let variable = (adapters ? "APMASK=" : "AQMASK=") + KernelFormat.mask(new) + "\n"
        record(.announced(.change(.apRoot, [variable])))
    }

    /// `ap_domain_store`: the domain must be within ap_max_domain_id and in aqmask.
    public mutating func setDefaultDomain(_ domain: Int) throws {
        guard domain >= 0, domain <= machine.maxDomainID, bus.aqmask.contains(domain) else {
            throw Errno.invalidArgument
        }
        bus.defaultDomain = domain
        record(.busAttributes)
    }

    /// `config_time_store`: 5 to 120 seconds.
    public mutating func setConfigTime(_ seconds: Int) throws {
        guard (5...120).contains(seconds) else { throw Errno.invalidArgument }
        bus.configTime = seconds
        // mod_timer(&ap_scan_bus_timer, jiffies + ap_scan_bus_time * HZ)
        bus.nextScanAt = now + UInt64(seconds) * 1_000_000_000
        record(.busAttributes)
    }

    /// `poll_thread_store`: starting it does nothing while AP interrupts are used.
    public mutating func setPollThread(_ on: Bool) {
        bus.pollThread = on && !machine.interrupts
        record(.busAttributes)
    }

    /// `poll_timeout_store`: at most 120 s in nanoseconds.
    public mutating func setPollTimeout(_ ns: UInt64) throws {
        guard ns <= 120_000_000_000 else { throw Errno.invalidArgument }
        bus.pollTimeout = ns
        record(.busAttributes)
    }

    /// `drivers_probe` (driver core `bus_rescan_devices_helper` on one device):
    /// probes an unbound device; ENODEV if the bus has no such device.
    public mutating func probeDevice(named name: String) throws {
        switch parseDeviceName(name) {
        case .card(let id):
            guard hasCardDevice(id) else { throw Errno.noDevice }
            if adapters[id]?.boundToCEX4Card == false {
                adapters[id]?.bindToCEX4Card()
                record(.cardBinding(id))
                record(.announced(.bind(.card(id))))
            }
        case .queue(let q):
            guard queues[q] != nil else { throw Errno.noDevice }
            if queues[q]?.driver == nil, let d = acceptedDriver(for: q) { attachQueue(q, to: d) }
        case nil:
            throw Errno.noDevice
        }
    }

    public enum APDeviceName: Equatable {
        case card(Int)
        case queue(APQN)
    }

    /// `bus_find_device_by_name`: `cardXX` or `XX.YYYY`, exactly as the kernel names them.
    public func parseDeviceName(_ name: String) -> APDeviceName? {
        let hex = Set("0123456789abcdef")
        if name.hasPrefix("card"), name.count == 6 {
            let digits = name.dropFirst(4)
            guard digits.allSatisfy(hex.contains), let id = Int(digits, radix: 16) else { return nil }
            return .card(id)
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 4,
              parts[0].allSatisfy(hex.contains), parts[1].allSatisfy(hex.contains),
              let c = Int(parts[0], radix: 16), let d = Int(parts[1], radix: 16), d < 256 else { return nil }
        return .queue(APQN(card: c, domain: d))
    }

    /// `bind_store` of an AP driver: ENODEV when the bus has no such device or
    /// the driver does not match or the probe refuses (masks, override);
    /// EBUSY when the device already has a driver.
    public mutating func bind(driver: APDriverName, device name: String) throws {
        guard let dev = parseDeviceName(name) else { throw Errno.noDevice }
        switch (driver, dev) {
        case (.cex4card, .card(let id)):
            guard hasCardDevice(id), let card = adapters[id] else { throw Errno.noDevice }
            if card.boundToCEX4Card { throw Errno.resourceBusy }
            adapters[id]?.bindToCEX4Card()
            record(.cardBinding(id))
            record(.announced(.bind(.card(id))))
        case (.cex4queue, .queue(let q)), (.vfioAP, .queue(let q)):
            guard let queue = queues[q] else { throw Errno.noDevice }
            if queue.driver != nil { throw Errno.resourceBusy }
            let wanted: QueueDriver = driver == .cex4queue ? .cex4queue : .vfioAP
            guard acceptedDriver(for: q) == wanted else { throw Errno.noDevice }
            attachQueue(q, to: wanted)
        default:
            // bus_find_device_by_name found it, but ap_bus_match fails.
            switch dev {
            case .card(let id): guard hasCardDevice(id) else { throw Errno.noDevice }
            case .queue(let q): guard queues[q] != nil else { throw Errno.noDevice }
            }
            throw Errno.noDevice
        }
    }

    /// `unbind_store`: ENODEV unless the device is bound to this driver.
    public mutating func unbind(driver: APDriverName, device name: String) throws {
        guard let dev = parseDeviceName(name) else { throw Errno.noDevice }
        switch (driver, dev) {
        case (.cex4card, .card(let id)):
            guard hasCardDevice(id), adapters[id]?.boundToCEX4Card == true else { throw Errno.noDevice }
            adapters[id]?.boundToCEX4Card = false
            record(.cardBinding(id))
            record(.announced(.unbind(.card(id))))
        case (.cex4queue, .queue(let q)):
            guard queues[q]?.driver == .cex4queue else { throw Errno.noDevice }
            detachQueue(q)
        case (.vfioAP, .queue(let q)):
            guard queues[q]?.driver == .vfioAP else { throw Errno.noDevice }
            detachQueue(q)
        default:
            throw Errno.noDevice
        }
    }

    /// Queue `driver_override` store: refused (EINVAL) while apmask/aqmask
    /// are in use; an empty value clears it. Binding is not changed until the
    /// next probe (unbind/bind or drivers_probe).
    public mutating func setDriverOverride(_ q: APQN, _ value: String?) throws {
        guard queues[q] != nil else { throw Errno.noDevice }
        if masksInUse { throw Errno.invalidArgument }
        queues[q]?.driverOverride = value
        record(.queue(q))
        record(.busAttributes)
    }
}

/// The AP bus drivers that have bind/unbind files.
public enum APDriverName: String, Sendable, CaseIterable {
    case cex4card
    case cex4queue
    case vfioAP = "vfio_ap"
}
