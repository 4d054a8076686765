import SystemPackage

/// Creating and removing mediated devices: mdev_core.c `mdev_device_create`,
/// `mdev_device_remove`, vfio_ap_ops.c `vfio_ap_mdev_probe`/`_remove`.
extension HostState {
    /// `create` store after `guid_parse`: EEXIST for a UUID that exists,
    /// EUSERS when no instance is left.
    /// A topology may give the iommu group and VFIO device index a recorded
    /// host had; otherwise the lowest free ones are taken.
    public mutating func createMdev(uuid: String, iommuGroup: Int? = nil, vfioDeviceIndex: Int? = nil) throws {
        let name = uuid.lowercased()
        if mdevIndex(uuid: name) != nil { throw Errno.fileExists }
        if availableInstances <= 0 { throw Errno.tooManyUsers }
        // iommu_group_ida and vfio.device_ida hand out the lowest free id.
        let group = iommuGroup ?? mdevs.lowestFreeIOMMUGroup
        let index = vfioDeviceIndex ?? mdevs.lowestFreeVFIODeviceIndex
        var m = MediatedDevice(uuid: name, iommuGroup: group, vfioDeviceIndex: index)
        m.shadow = APMatrix()
        mdevs.append(m)
        logMdev(.info, name, "Adding to iommu group \(group)")
        record(.mdevAdded(name))
        record(.mdevType)
        // mdev_device_create: device_add (KOBJ_ADD), then the probe
        // registers the vfio device (vfio-dev/vfioN added), then driver_bound.
        record(.announced(.add(.mdev(name))))
        record(.announced(.add(.vfioDevice(mdev: name, index: index))))
        record(.announced(.bind(.mdev(name))))
    }

    /// `remove` of an mdev no guest holds: reset and unlink its queues, free
    /// its iommu group, give the instance back.
    public mutating func removeMdev(uuid: String) throws {
        guard let i = mdevIndex(uuid: uuid) else { throw Errno.noDevice }
        let m = mdevs[i]
        let linked = m.matrix.apqns.filter { queues[$0]?.driver == .vfioAP }
        for q in linked { resetQueue(q) }
        logMdev(.info, m.uuid, "Removing from iommu group \(m.iommuGroup)")
        mdevs.remove(at: i)
        for q in linked { record(.queue(q)) }
        record(.mdevRemoved(m.uuid))
        record(.mdevType)
        // device_del: the driver's remove unregisters the vfio device, then
        // KOBJ_UNBIND, then KOBJ_REMOVE of the mdev.
        record(.announced(.remove(.vfioDevice(mdev: m.uuid, index: m.vfioDeviceIndex))))
        record(.announced(.unbind(.mdev(m.uuid))))
        record(.announced(.remove(.mdev(m.uuid))))
    }
}
