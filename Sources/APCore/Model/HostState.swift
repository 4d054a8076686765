/// Everything the emulated s390 host knows: hardware, AP bus, vfio_ap matrix
/// device, guests and kernel log. A value guarded by `S390Host`'s one lock, as
/// `matrix_dev->mdevs_lock` guards the kernel's.
public struct HostState: Sendable, Codable {
    public var machine: Machine
    public var bus: BusSettings
    /// The host's AP configuration from QCI as the kernel last fetched it
    /// (`ap_qci_info`, vfio_ap's `matrix_dev->info`): adapters (APM), usage
    /// domains (AQM) and control domains (ADM) of this partition.
    public var hostConfig: APMatrix
    /// What the machine answers now; the bus scan brings the kernel's view
    /// up to it.
    public var hardware: APHardware
    /// The machine's adapters, in the configuration or not; `cardDevice`
    /// says which have a card device.
    public var adapters: [Int: Adapter] = [:]
    public var queues: [APQN: Queue] = [:]
    /// `/sys/devices/vfio_ap/matrix/features` words; `migratable` among them
    /// means the kernel carries the live-migration series.
    public var vfioFeatures: [String]
    /// mdevs in creation order; the kernel's `mdev_list` is iterated newest
    /// first because `vfio_ap_mdev_probe` uses `list_add` (head insertion).
    public var mdevs: [MediatedDevice] = []
    /// `MAX_ZDEV_ENTRIES_EXT`.
    public var maxMdevs = 65_536
    /// Simulated KVM guests by name.
    public var guests: [String: Guest] = [:]
    public var log = KernelLog()
    /// Nanoseconds since boot, advanced by `S390Host` before each operation.
    public var now: UInt64 = 0
    /// The host's clock (nanoseconds since boot), read for each log line:
    /// printk stamps every line when it is printed, so the lines of one
    /// report carry their own times. Without it lines get `now`.
    public var clock: (@Sendable () -> UInt64)?
    /// Changes recorded since `S390Host` last drained them.
    public var changes: [ModelChange] = []
    /// vfio_ap's `apm_add`/`aqm_add`/`adm_add` per mdev UUID: what a
    /// configuration change added, from `vfio_ap_on_cfg_changed` to
    /// `vfio_ap_on_scan_complete` within one bus scan; empty otherwise.
    public var vfioConfigAdds: [String: APMatrix] = [:]

    public init(machine: Machine = Machine(), hostConfig: APMatrix = APMatrix(),
                vfioFeatures: [String] = ["guest_matrix", "hotplug", "ap_config", "migratable"]) {
        self.machine = machine
        self.bus = BusSettings()
        self.hostConfig = hostConfig
        self.hardware = APHardware(config: hostConfig)
        self.vfioFeatures = vfioFeatures
    }

    public mutating func record(_ change: ModelChange) { changes.append(change) }

    // MARK: - Persistence (StateStore)

    /// Every stored property is persisted except these two: the clock is a
    /// closure of the running process, and changes are drained before any
    /// state is saved. A property added later must be listed in one place or
    /// the other (StateStoreTests checks it with Mirror).
    enum CodingKeys: String, CodingKey, CaseIterable {
        case machine, bus, hostConfig, hardware, adapters, queues, vfioFeatures, mdevs, maxMdevs, guests, log, now
        case vfioConfigAdds
    }

    public static var persistedProperties: [String] { CodingKeys.allCases.map(\.rawValue) }
    public static let transientProperties = ["clock", "changes"]

    // MARK: - Logging

    public mutating func log(_ level: KernelLog.Level, _ text: String, facility: Int = 0) {
        if let clock { now = max(now, clock()) }
        log.append(text, level: level, facility: facility, at: now)
        record(.kernelLog)
    }

    /// `dev_warn`/`dev_err`/... on an mdev: prefix `vfio_ap_mdev <uuid>: `.
    public mutating func logMdev(_ level: KernelLog.Level, _ uuid: String, _ message: String) {
        log(level, KernelLog.deviceLine(driver: "vfio_ap_mdev", device: uuid, message))
    }

    // MARK: - Queries

    /// vfio_ap's limits (`vfio_ap_matrix_init`): `apxa ? na : 63`, `apxa ? nd : 15`.
    public var maxAdapterIDForMdev: Int { machine.maxAdapterID }
    public var maxDomainIDForMdev: Int { machine.maxDomainID }

    public var sortedAdapterIDs: [Int] { adapters.keys.sorted() }

    /// Whether the AP bus has a card device `cardXX` for the adapter.
    public func hasCardDevice(_ id: Int) -> Bool { adapters[id]?.cardDevice ?? false }

    public func deviceType(ofCard id: Int) -> Int {
        guard let a = adapters[id] else { return 0 }
        return APDeviceType.compatible(rawType: a.hardwareInfo.apType, qact: machine.qact)
    }

    /// The queue devices of a card, by domain ascending.
    public func queueAPQNs(ofCard id: Int) -> [APQN] {
        guard hasCardDevice(id) else { return [] }
        return hostConfig.domains.ids.map { APQN(card: id, domain: $0) }.filter { queues[$0] != nil }
    }

    public var allQueueAPQNs: [APQN] { queues.keys.sorted() }

    /// `config` of a queue device (`aq->config`).
    public func isConfigured(_ q: APQN) -> Bool { queues[q]?.config ?? false }

    /// `chkstop` of a queue device (`aq->chkstop`).
    public func isCheckstopped(_ q: APQN) -> Bool { queues[q]?.chkstop ?? false }

    /// PQAP(TAPQ) on an APQN now (`ap_queue_info`): nil when the partition
    /// has no such queue (no such adapter, adapter or domain outside its AP
    /// configuration, an ID past the limits). Every queue
    /// of a deconfigured adapter answers DECONFIGURED, which wins over a
    /// checkstop (one response code).
    public func tapq(_ q: APQN) -> TAPQAnswer? {
        tapq(q, queue: queues[q] ?? hardware.parkedQueues[q])
    }

    /// TAPQ on an APQN whose hardware side the caller holds (nil: none yet).
    func tapq(_ q: APQN, queue: Queue?) -> TAPQAnswer? {
        guard q.card <= machine.maxAdapterID, q.domain <= machine.maxDomainID,
              hardware.config.adapters.contains(q.card), hardware.config.domains.contains(q.domain),
              let adapter = adapters[q.card] else { return nil }
        return tapqAnswer(adapter, queue)
    }

    /// TAPQ's answer for a queue of `adapter` the partition has, from the
    /// queue's hardware side if the machine has one yet.
    func tapqAnswer(_ adapter: Adapter, _ queue: Queue?) -> TAPQAnswer {
        let deconfigured = hardware.deconfigured.contains(adapter.id) || queue.map { !$0.configuredOverride } ?? false
        let checkstopped = hardware.checkstopped.contains(adapter.id) || (queue?.checkstopped ?? false)
        return TAPQAnswer(hardwareInfo: queue?.hardwareInfo ?? adapter.hardwareInfo,
                          deconfigured: deconfigured, checkstopped: checkstopped && !deconfigured)
    }

    /// `ap_apqn_in_matrix_owned_by_def_drv`/`ap_owned_by_def_drv`: an APQN is
    /// owned by the default drivers when its queue has a driver_override and is
    /// bound to a default driver, or (no override) when apmask and aqmask both
    /// reserve it. Existence of the queue is not required.
    public func isOwnedByDefaultDriver(_ q: APQN) -> Bool {
        if let queue = queues[q], queue.driverOverride != nil {
            return queue.driver?.isDefault ?? false
        }
        return bus.apmask.contains(q.card) && bus.aqmask.contains(q.domain)
    }

    /// The mdev whose matrix holds the APQN (sharing is refused, so at most one).
    public func mdevIndex(assigning q: APQN) -> Int? {
        mdevs.indices.reversed().first { mdevs[$0].isAssigned(q) }
    }

    public func mdevIndex(uuid: String) -> Int? { mdevs.firstIndex { $0.uuid == uuid } }

    /// `_queue_passable`: bound to vfio_ap (and so linked to the mdev that has
    /// the APQN) with a last reset response of normal, deconfigured or checkstopped.
    public func isPassable(_ q: APQN) -> Bool {
        guard let queue = queues[q], queue.driver == .vfioAP else { return false }
        return [0, 3, 4].contains(queue.resetResponseCode)
    }

    /// `status` of a vfio_ap queue (`status_show`).
    public func vfioQueueStatus(_ q: APQN) -> String {
        guard let i = mdevIndex(assigning: q) else { return "unassigned" }
        let m = mdevs[i]
        if m.guest != nil && m.shadow.adapters.contains(q.card) && m.shadow.domains.contains(q.domain) {
            return "in use"
        }
        return "assigned"
    }

    /// Queue devices bound to a driver, and all queue devices (`bindings`).
    public var bindingCounts: (bound: Int, total: Int) {
        var bound = 0
        for q in queues.values where q.driver != nil { bound += 1 }
        return (bound, queues.count)
    }

    public var driverOverrideCount: Int { queues.values.reduce(0) { $0 + ($1.driverOverride != nil ? 1 : 0) } }

    /// `ap_apmask_aqmask_in_use`: the masks are not both all ones.
    public var masksInUse: Bool { bus.apmask != .allOnes || bus.aqmask != .allOnes }

    public var availableInstances: Int { maxMdevs - mdevs.count }
}
