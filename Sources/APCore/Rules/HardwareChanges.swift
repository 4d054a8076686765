/// A change the machine undergoes at run time, outside the kernel: an HMC,
/// DPM or Secure Execution reconfiguration of the partition's AP
/// configuration (the QCI masks), an SCLP (de)configure of an adapter, a
/// card checkstop and its repair.
public enum HardwareChange: Sendable, Equatable {
    case addAdapter(Int), removeAdapter(Int)
    case addDomain(Int), removeDomain(Int)
    case addControlDomain(Int), removeControlDomain(Int)
    case configureCard(Int), deconfigureCard(Int)
    case checkstopCard(Int), clearCheckstop(Int)
}

/// Why the machine cannot make a change (an HMC or SCLP would refuse it).
public struct HardwareChangeError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension HostState {
    /// Makes the change in the machine, then, with `scan`, lets the kernel
    /// learn of it the way a configuration-change notification makes it:
    /// `ap_bus_cfg_chg` → `ap_bus_force_rescan` → one bus scan. Without, the
    /// kernel sees it at its next scan (the `config_time` timer, a `scans`
    /// write, a card `config` write).
    public mutating func applyHardwareChange(_ change: HardwareChange, scan: Bool = true) throws {
        switch change {
        case .addAdapter(let id): try changeConfiguration(.adapter, id, add: true)
        case .removeAdapter(let id): try changeConfiguration(.adapter, id, add: false)
        case .addDomain(let id): try changeConfiguration(.domain, id, add: true)
        case .removeDomain(let id): try changeConfiguration(.domain, id, add: false)
        case .addControlDomain(let id): try changeConfiguration(.controlDomain, id, add: true)
        case .removeControlDomain(let id): try changeConfiguration(.controlDomain, id, add: false)
        case .configureCard(let id):
            try requireAdapterInConfiguration(id)
            guard hardware.deconfigured.remove(id) != nil else {
                throw HardwareChangeError("adapter \(KernelFormat.adapter(id)) is configured already")
            }
        case .deconfigureCard(let id):
            try requireAdapterInConfiguration(id)
            guard hardware.deconfigured.insert(id).inserted else {
                throw HardwareChangeError("adapter \(KernelFormat.adapter(id)) is deconfigured already")
            }
        case .checkstopCard(let id):
            try requireAdapter(id)
            guard hardware.checkstopped.insert(id).inserted else {
                throw HardwareChangeError("adapter \(KernelFormat.adapter(id)) is in checkstop already")
            }
        case .clearCheckstop(let id):
            try requireAdapter(id)
            guard hardware.checkstopped.remove(id) != nil else {
                throw HardwareChangeError("adapter \(KernelFormat.adapter(id)) is not in checkstop")
            }
        }
        record(.hardware)
        if scan { rescanBus() }
    }

    private mutating func changeConfiguration(_ r: MatrixResource, _ id: Int, add: Bool) throws {
        let what: String
        switch r {
        case .adapter: what = "adapter \(KernelFormat.adapter(id))"
        case .domain: what = "usage domain \(KernelFormat.domain(id))"
        case .controlDomain: what = "control domain \(KernelFormat.domain(id))"
        }
        guard machine.qciInfoValid else {
            throw HardwareChangeError("the machine gives no QCI information: its AP configuration cannot change")
        }
        let limit = r == .adapter ? machine.maxAdapterID : machine.maxDomainID
        guard (0...limit).contains(id) else {
            throw HardwareChangeError("\(what) is past \(r == .adapter ? "ap_max_adapter_id" : "ap_max_domain_id") (\(limit))")
        }
        if add {
            guard !hardware.config[r].contains(id) else { throw HardwareChangeError("\(what) is in the AP configuration already") }
            hardware.config[r].insert(id)
        } else {
            guard hardware.config[r].contains(id) else { throw HardwareChangeError("\(what) is not in the AP configuration") }
            hardware.config[r].remove(id)
        }
    }

    private func requireAdapter(_ id: Int) throws {
        guard adapters[id] != nil else {
            throw HardwareChangeError("the machine has no adapter \(KernelFormat.adapter(id))")
        }
    }

    /// SCLP configures and deconfigures the partition's own adapters only.
    private func requireAdapterInConfiguration(_ id: Int) throws {
        try requireAdapter(id)
        guard hardware.config.adapters.contains(id) else {
            throw HardwareChangeError("adapter \(KernelFormat.adapter(id)) is not in the AP configuration")
        }
    }
}

extension HostState {
    /// What the machine answers now, for `hw show`: the QCI masks, each of
    /// the machine's adapters, and whether the kernel has seen all of it.
    public var hardwareDescription: String {
        var out = "apm: \(KernelFormat.mask(hardware.config.adapters))\n"
        out += "aqm: \(KernelFormat.mask(hardware.config.domains))\n"
        out += "adm: \(KernelFormat.mask(hardware.config.controlDomains))\n"
        for id in sortedAdapterIDs {
            var words = [hardware.config.adapters.contains(id) ? "in the configuration" : "not in the configuration"]
            words.append(hardware.deconfigured.contains(id) ? "deconfigured" : "configured")
            if hardware.checkstopped.contains(id) { words.append("checkstopped") }
            out += "adapter \(KernelFormat.adapter(id)): \(words.joined(separator: ", "))\n"
        }
        out += "scan pending: \(scanPending ? "yes" : "no")\n"
        return out
    }
}
