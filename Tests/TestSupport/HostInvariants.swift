import APCore

/// What must hold in a host's state after any sequence of user writes
/// (issue 10's load-test invariants, on the model itself): no APQN in two
/// mdevs, none reserved for the host drivers in an mdev, each guest matrix
/// within its matrix, drivers as the masks say, guests and mdevs pointing
/// at each other. Shared with the fuzz harnesses (fuzz/Sources/FuzzSupport
/// links this file).
public enum HostInvariants {
    /// Every broken invariant (empty when all hold). `overridesUsed`: a
    /// driver_override was set at some point; the kernel's ownership test
    /// then follows the override and the binding (`ap_owned_by_def_drv`),
    /// and a user may bind an assigned queue to its default driver, so the
    /// mask rules are not checked.
    public static func violations(_ s: HostState, overridesUsed: Bool) -> [String] {
        var out: [String] = []
        var owner: [APQN: String] = [:]
        for m in s.mdevs {
            for q in m.matrix.apqns {
                if let other = owner[q] { out.append("\(q) is in mdev \(other) and in \(m.uuid)") }
                owner[q] = m.uuid
                if !overridesUsed && s.bus.apmask.contains(q.card) && s.bus.aqmask.contains(q.domain) {
                    out.append("\(q) of mdev \(m.uuid) is reserved for the host by apmask/aqmask")
                }
            }
            let sh = m.shadow, mx = m.matrix
            if !sh.adapters.subtracting(mx.adapters).isEmpty || !sh.domains.subtracting(mx.domains).isEmpty
                || !sh.controlDomains.subtracting(mx.controlDomains).isEmpty {
                out.append("guest_matrix of \(m.uuid) is not within its matrix")
            }
            if let g = m.guest, s.guests[g]?.mdev != m.uuid {
                out.append("mdev \(m.uuid) is open by guest \(g), which does not hold it")
            }
        }
        for g in s.guests.values {
            if let u = g.mdev, s.mdevs.first(where: { $0.uuid == u })?.guest != g.name {
                out.append("guest \(g.name) holds mdev \(u), which is not open by it")
            }
        }
        if !overridesUsed {
            for (q, queue) in s.queues.sorted(by: { $0.key < $1.key }) {
                guard let d = queue.driver else { continue }
                let reserved = s.bus.apmask.contains(q.card) && s.bus.aqmask.contains(q.domain)
                if d.isDefault != reserved { out.append("\(q) is bound to \(d.rawValue) against apmask/aqmask") }
            }
        }
        if Set(s.mdevs.map(\.uuid)).count != s.mdevs.count { out.append("two mdevs with one UUID") }
        return out
    }
}
