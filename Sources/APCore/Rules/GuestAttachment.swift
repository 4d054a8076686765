import SystemPackage

/// Simulated KVM guests and the VFIO open/close of an mdev: vfio_ap_ops.c
/// `vfio_ap_mdev_open_device`, `vfio_ap_mdev_set_kvm`, `vfio_ap_mdev_unset_kvm`,
/// `vfio_ap_mdev_request`.
extension HostState {
    public mutating func addGuest(_ guest: Guest) throws {
        guard guests[guest.name] == nil else { throw Errno.fileExists }
        guests[guest.name] = guest
        record(.guests)
    }

    /// VFIO open of the mdev by the guest's QEMU: EINVAL without a KVM,
    /// EPERM when the guest already has an mdev, EBUSY when another guest
    /// has this one open (the VFIO group is in use).
    public mutating func openMdev(_ uuid: String, guest name: String) throws {
        guard let i = mdevIndex(uuid: uuid) else { throw Errno.noDevice }
        guard var g = guests[name] else { throw Errno.invalidArgument }
        if g.mdev != nil { throw Errno.notPermitted }
        if mdevs[i].guest != nil { throw Errno.resourceBusy }
        mdevs[i].guest = name
        g.mdev = uuid
        g.crycb = mdevs[i].shadow
        guests[name] = g
        record(.guests)
        recordQueueStatus(of: i)
    }

    /// VFIO close: the guest's masks are cleared, the mdev's queues reset,
    /// the KVM pointer dropped.
    public mutating func closeMdev(_ uuid: String) {
        guard let i = mdevIndex(uuid: uuid), let name = mdevs[i].guest else { return }
        mdevs[i].guest = nil
        if var g = guests[name] {
            g.mdev = nil
            g.crycb = APMatrix()
            guests[name] = g
        }
        for q in mdevs[i].matrix.apqns where queues[q]?.driver == .vfioAP { resetQueue(q) }
        recordQueueStatus(of: i)
        record(.guests)
    }

    /// The VM is paused (STOP) or running.
    public mutating func setGuestPaused(_ name: String, _ paused: Bool) {
        guard guests[name] != nil else { return }
        guests[name]?.paused = paused
        record(.guests)
    }

    /// A line the guest's QEMU writes to its log.
    public mutating func appendGuestLog(_ name: String, _ line: String) {
        guard guests[name] != nil else { return }
        guests[name]?.qemuLog.append(line)
        record(.guests)
    }

    public mutating func removeGuest(_ name: String) {
        if let uuid = guests[name]?.mdev { closeMdev(uuid) }
        guests[name] = nil
        record(.guests)
    }

    /// `vfio_ap_mdev_request`: a guest that still holds the mdev loses its AP
    /// masks first; the request is relayed to QEMU through its eventfd, and
    /// the ratelimited notice is logged for every tenth request.
    public mutating func relayDeviceRequest(_ uuid: String, count: Int) {
        guard let i = mdevIndex(uuid: uuid), let name = mdevs[i].guest else { return }
        guests[name]?.crycb = APMatrix()
        record(.guests)
        if count % 10 == 0 {
            logMdev(.notice, uuid, "Relaying device request to user (#\(count))")
        }
    }
}
