import APCore

/// What must hold after any sequence of user writes (issue 10's load-test
/// invariants, checked on the model itself): sharing and ownership rules,
/// the guest matrix filter, drivers against the masks, guests against mdevs.
public enum ModelInvariants {
    /// `overridesUsed`: a driver_override was set at some point. The
    /// kernel's ownership test then follows the override and the binding
    /// (`ap_owned_by_def_drv`), and a user can bind an assigned queue to
    /// its default driver, so the mask rules are not checked.
    public static func check(_ s: HostState, overridesUsed: Bool) {
        var owner: [APQN: String] = [:]
        for m in s.mdevs {
            for q in m.matrix.apqns {
                if let other = owner[q] { violation("\(q) is in mdev \(other) and in \(m.uuid)") }
                owner[q] = m.uuid
                if !overridesUsed && s.bus.apmask.contains(q.card) && s.bus.aqmask.contains(q.domain) {
                    violation("\(q) of mdev \(m.uuid) is reserved for the host by apmask/aqmask")
                }
            }
            let sh = m.shadow, mx = m.matrix
            if !sh.adapters.subtracting(mx.adapters).isEmpty || !sh.domains.subtracting(mx.domains).isEmpty
                || !sh.controlDomains.subtracting(mx.controlDomains).isEmpty {
                violation("guest_matrix of \(m.uuid) is not within its matrix")
            }
            if let g = m.guest, s.guests[g]?.mdev != m.uuid {
                violation("mdev \(m.uuid) is open by guest \(g), which does not hold it")
            }
        }
        for g in s.guests.values {
            if let u = g.mdev, s.mdevs.first(where: { $0.uuid == u })?.guest != g.name {
                violation("guest \(g.name) holds mdev \(u), which is not open by it")
            }
        }
        if !overridesUsed {
            for (q, queue) in s.queues {
                guard let d = queue.driver else { continue }
                let reserved = s.bus.apmask.contains(q.card) && s.bus.aqmask.contains(q.domain)
                if d.isDefault != reserved { violation("\(q) is bound to \(d.rawValue) against apmask/aqmask") }
            }
        }
        if s.availableInstances != s.maxMdevs - s.mdevs.count { violation("available_instances") }
        if Set(s.mdevs.map(\.uuid)).count != s.mdevs.count { violation("two mdevs with one UUID") }
    }
}
