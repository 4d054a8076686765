/// The guest matrix: vfio_ap_ops.c `vfio_ap_mdev_filter_matrix`,
/// `vfio_ap_mdev_filter_cdoms` and the guest APCB update (hot plug).
extension HostState {
    /// Recomputes the shadow APM/AQM of mdev `i`. Returns whether they changed
    /// and the adapters that were in the guest before and are filtered now.
    mutating func filterMatrix(_ i: Int) -> (changed: Bool, filtered: [Int]) {
        var m = mdevs[i]
        let previous = m.shadow
        var shadowAdapters = m.matrix.adapters.intersection(hostConfig.adapters)
        let shadowDomains = m.matrix.domains.intersection(hostConfig.domains)
        var filtered: [Int] = []
        let domains = shadowDomains.ids
        for a in shadowAdapters.ids {
            // The architecture cannot filter single APQNs: one queue that
            // cannot be passed through drops its whole adapter.
            if domains.contains(where: { !isPassable(APQN(card: a, domain: $0)) }) {
                shadowAdapters.remove(a)
                if previous.adapters.contains(a) { filtered.append(a) }
            }
        }
        m.shadow.adapters = shadowAdapters
        m.shadow.domains = shadowDomains
        mdevs[i] = m
        let changed = previous.adapters != shadowAdapters || previous.domains != shadowDomains
        if changed { record(.mdev(m.uuid)); recordQueueStatus(of: i) }
        return (changed, filtered)
    }

    /// `vfio_ap_mdev_filter_cdoms`: shadow ADM = ADM ∩ host ADM.
    mutating func filterControlDomains(_ i: Int) -> Bool {
        let new = mdevs[i].matrix.controlDomains.intersection(hostConfig.controlDomains)
        guard new != mdevs[i].shadow.controlDomains else { return false }
        mdevs[i].shadow.controlDomains = new
        record(.mdev(mdevs[i].uuid))
        return true
    }

    /// Filter, then update a running guest and reset the queues of adapters
    /// taken from it (`vfio_ap_mdev_update_guest_apcb`, `reset_queues_for_apids`).
    mutating func refilterAndHotPlug(_ i: Int) {
        let (changed, filtered) = filterMatrix(i)
        if changed {
            guestConfigurationChanged(i)
            resetQueues(ofAdapters: filtered, in: i)
        }
    }

    /// The guest's CRYCB masks follow the shadow (`kvm_arch_crypto_set_masks`).
    mutating func guestConfigurationChanged(_ i: Int) {
        guard let name = mdevs[i].guest else { return }
        guests[name]?.crycb = mdevs[i].shadow
        record(.guests)
        recordQueueStatus(of: i)
    }

    /// Queue `status` depends on the mdev and its guest.
    mutating func recordQueueStatus(of i: Int) {
        for q in mdevs[i].matrix.apqns where queues[q]?.driver == .vfioAP { record(.queue(q)) }
    }
}
