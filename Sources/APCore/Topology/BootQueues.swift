/// The queue devices of a booting host before they join `HostState.queues`:
/// one per card device and usage domain of the configuration, in APQN
/// order (`ap_scan_bus` scans adapters, then their domains, ascending),
/// reachable by APQN for the topology's per-queue overrides.
struct BootQueues {
    /// The queues in APQN order (changed in place by the boot, never
    /// reordered or resized).
    var inOrder: [Queue] = []
    /// `APQN.rawValue` → position in `inOrder`, -1 for none.
    private var positions = [Int32](repeating: -1, count: 1 << 16)

    /// `cards` sorted by adapter ID, `domains` ascending.
    init(cards: [Topology.AdapterSpec], domains: [Int]) {
        inOrder.reserveCapacity(cards.count * domains.count)
        for spec in cards {
            // One master-key value per adapter: every queue shares its storage.
            let keys = spec.masterKeys ?? Queue.unloadedMasterKeys(for: spec.hardwareInfo)
            for d in domains {
                let apqn = APQN(card: spec.id, domain: d)
                var q = Queue(apqn: apqn, hardwareInfo: spec.hardwareInfo)
                q.masterKeys = keys
                positions[Int(apqn.rawValue)] = Int32(inOrder.count)
                inOrder.append(q)
            }
        }
    }

    var count: Int { inOrder.count }

    subscript(apqn: APQN) -> Queue? {
        get {
            let k = positions[Int(apqn.rawValue)]
            return k < 0 ? nil : inOrder[Int(k)]
        }
        set {
            // Only existing queues are changed (an override of a queue the
            // bus has no device for is an error before this).
            let k = positions[Int(apqn.rawValue)]
            guard k >= 0, let q = newValue else { return }
            inOrder[Int(k)] = q
        }
    }

    var driverOverrideCount: Int { inOrder.reduce(0) { $0 + ($1.driverOverride != nil ? 1 : 0) } }
}
