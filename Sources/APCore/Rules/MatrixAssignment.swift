import SystemPackage

/// The mdev assignment attributes: vfio_ap_ops.c `assign_adapter_store`,
/// `unassign_adapter_store`, `assign_domain_store`, `unassign_domain_store`,
/// `assign_control_domain_store`, `unassign_control_domain_store`,
/// `ap_config_store`. Arguments are already parsed (`kstrtoul`).
extension HostState {
    public enum MatrixResource: Sendable {
        case adapter, domain, controlDomain
    }

    func mdev(_ uuid: String) throws -> Int {
        guard let i = mdevIndex(uuid: uuid) else { throw Errno.noDevice }
        return i
    }

    func maxID(_ r: MatrixResource) -> Int {
        r == .adapter ? maxAdapterIDForMdev : maxDomainIDForMdev
    }

    /// assign_adapter / assign_domain / assign_control_domain.
    public mutating func assign(_ r: MatrixResource, id: UInt64, to uuid: String) throws {
        let i = try mdev(uuid)
        guard id <= UInt64(maxID(r)) else { throw Errno.noDevice }
        let n = Int(id)
        guard !mdevs[i].matrix[r].contains(n) else { return }
        var new = mdevs[i].matrix
        new[r].insert(n)
        if r == .controlDomain {
            // Control domains may be shared: no ownership or sharing checks.
            mdevs[i].matrix = new
            record(.mdev(uuid))
            if filterControlDomains(i) { guestConfigurationChanged(i) }
            return
        }
        try validateMasks(new, of: i)
        mdevs[i].matrix = new
        record(.mdev(uuid))
        // vfio_ap_mdev_link_adapter/_domain: the queues now belong to this mdev.
        recordQueueStatus(of: i)
        refilterAndHotPlug(i)
    }

    /// unassign_adapter / unassign_domain / unassign_control_domain.
    public mutating func unassign(_ r: MatrixResource, id: UInt64, from uuid: String) throws {
        let i = try mdev(uuid)
        guard id <= UInt64(maxID(r)) else { throw Errno.noDevice }
        let n = Int(id)
        guard mdevs[i].matrix[r].contains(n) else { return }
        recordQueueStatus(of: i)
        mdevs[i].matrix[r].remove(n)
        hotUnplug(adapters: r == .adapter ? [n] : [], domains: r == .domain ? [n] : [],
                  controlDomains: r == .controlDomain ? [n] : [], in: i)
        record(.mdev(uuid))
    }

    /// ap_config write: the whole matrix at once; on any error nothing changes.
    public mutating func setAPConfig(_ new: APMatrix, of uuid: String) throws {
        let i = try mdev(uuid)
        try validateMasks(new, of: i)
        let tooHigh = (new.adapters.highestID ?? -1) > maxAdapterIDForMdev
            || (new.domains.highestID ?? -1) > maxDomainIDForMdev
            || (new.controlDomains.highestID ?? -1) > maxDomainIDForMdev
        if tooHigh { throw Errno.noDevice }
        let old = mdevs[i].matrix
        recordQueueStatus(of: i)
        mdevs[i].matrix = new
        record(.mdev(uuid))
        hotUnplug(adapters: old.adapters.subtracting(new.adapters).ids,
                  domains: old.domains.subtracting(new.domains).ids,
                  controlDomains: old.controlDomains.subtracting(new.controlDomains).ids, in: i)
        recordQueueStatus(of: i)
        let (changed, filtered) = filterMatrix(i)
        let cdomsChanged = filterControlDomains(i)
        if changed || cdomsChanged {
            guestConfigurationChanged(i)
            resetQueues(ofAdapters: filtered, in: i)
        }
    }

    /// `vfio_ap_mdev_validate_masks`: ownership first (EADDRNOTAVAIL), then
    /// sharing with the other mdevs (EADDRINUSE, one warning per shared APQN).
    /// Runs before anything changes, so a refusal leaves only the log lines.
    mutating func validateMasks(_ new: APMatrix, of i: Int) throws {
        if new.apqns.contains(where: isOwnedByDefaultDriver) { throw Errno.addressNotAvailable }
        if conflictsWithOtherMdev(adapters: new.adapters, domains: new.domains, assignee: i) {
            throw Errno.addressInUse
        }
    }

    /// `vfio_ap_mdev_verify_no_sharing`: the first other mdev (newest first)
    /// whose APM and AQM both intersect the given masks is a conflict. The
    /// index finds that mdev without walking the others.
    mutating func conflictsWithOtherMdev(adapters: APMask, domains: APMask, assignee: Int?) -> Bool {
        if let j = mdevs.newestSharing(adapters: adapters, domains: domains, excluding: assignee) {
            let other = mdevs[j]
            let apm = adapters.intersection(other.matrix.adapters)
            let aqm = domains.intersection(other.matrix.domains)
            let shared = APMatrix(adapters: apm, domains: aqm).apqns
            if let a = assignee {
                // vfio_ap_mdev_log_sharing_err (MDEV_SHARING_ERR) on the assignee.
                for q in shared {
                    logMdev(.warning, mdevs[a].uuid,
                            "Userspace may not assign queue \(q) to mdev: already assigned to \(other.uuid)")
                }
            } else {
                // vfio_ap_mdev_log_in_use_err (MDEV_IN_USE_ERR) on the owner.
                for q in shared {
                    logMdev(.warning, other.uuid, "Can not reserve queue \(q) for host driver: in use by mdev")
                }
            }
            return true
        }
        return false
    }

    /// Hot unplug of removed resources (`vfio_ap_mdev_hot_unplug_adapters`,
    /// `_domains`, `_cdoms`): what the guest had is taken away and those
    /// queues are reset.
    mutating func hotUnplug(adapters: [Int], domains: [Int], controlDomains: [Int], in i: Int) {
        var m = mdevs[i]
        var resetAPQNs: [APQN] = []
        var guestChanged = false
        let oldShadow = m.shadow
        for a in adapters where oldShadow.adapters.contains(a) {
            m.shadow.adapters.remove(a)
            guestChanged = true
            resetAPQNs += oldShadow.domains.ids.map { APQN(card: a, domain: $0) }
        }
        for d in domains where oldShadow.domains.contains(d) {
            m.shadow.domains.remove(d)
            guestChanged = true
            resetAPQNs += oldShadow.adapters.ids.map { APQN(card: $0, domain: d) }
        }
        for c in controlDomains where oldShadow.controlDomains.contains(c) {
            m.shadow.controlDomains.remove(c)
            guestChanged = true
        }
        mdevs[i] = m
        if guestChanged {
            record(.mdev(m.uuid))
            guestConfigurationChanged(i)
        }
        for q in Set(resetAPQNs) where queues[q]?.driver == .vfioAP { resetQueue(q) }
    }
}

