import APCore
import SystemPackage

/// /sys/devices/vfio_ap/matrix: vfio_ap_drv.c `matrix_dev_groups` (`features`),
/// the mdev parent files of mdev_sysfs.c, and one directory per mdev.
enum MatrixDirectory {
    static let typeName = "vfio_ap-passthrough"

    static func make(_ host: S390Host, _ s: HostState) -> SysfsDirectory {
        let fixed: [SysfsDirectory.Entry] = [
            .attribute("features", .readOnly { host.read { $0.vfioFeatures.joined(separator: " ") + "\n" } }),
            .link("driver", "../../../bus/matrix/drivers/vfio_ap"),
            .directory("mdev_supported_types", SysfsDirectory([.directory(typeName, typeDirectory(host))])),
            .link("subsystem", "../../../bus/matrix"),
            DriverCore.uevent(host, .matrix),
        ]
        return SysfsDirectory(
            list: {
                fixed.map { DirectoryEntry(name: $0.name, type: $0.type) }
                    + host.read { $0.mdevs.map { DirectoryEntry(name: $0.uuid, type: .directory) } }
            },
            child: { n in
                if let f = fixed.first(where: { $0.name == n }) { return f.make() }
                return host.read { st in
                    guard let i = st.mdevIndex(uuid: n) else { return nil }
                    return .directory(MdevDirectory.make(host, st.mdevs[i]))
                }
            })
    }

    /// mdev_supported_types/vfio_ap-passthrough (mdev_types_core_attrs; no
    /// `description`: vfio_ap has none).
    static func typeDirectory(_ host: S390Host) -> SysfsDirectory {
        SysfsDirectory([
            .attribute("available_instances", .readOnly { host.read { Show.line($0.availableInstances) } }),
            .attribute("create", .writeOnly { bytes in
                // create_store: 36 or 37 bytes (the write's count), then guid_parse.
                guard bytes.count == 36 || bytes.count == 37 else { throw Errno.invalidArgument }
                let uuid = try KernelParsers.guid(KernelParsers.cString(bytes))
                try host.update { try $0.createMdev(uuid: uuid) }
            }),
            .attribute("device_api", .readOnly { "vfio-ap\n" }),
            .directory("devices", SysfsDirectory(
                list: { host.read { $0.mdevs.map { DirectoryEntry(name: $0.uuid, type: .symlink) } } },
                child: { n in host.read { $0.mdevIndex(uuid: n) != nil ? .symlink("../../../\(n)") : nil } })),
            .attribute("name", .readOnly { "VFIO AP Passthrough Device\n" }),
        ])
    }
}

/// /sys/devices/vfio_ap/matrix/<uuid>: vfio_ap_ops.c `vfio_ap_mdev_attrs[]`
/// in its order, mdev core's `remove` and links, iommu group, vfio-dev.
enum MdevDirectory {
    static func make(_ host: S390Host, _ m: MediatedDevice) -> SysfsDirectory {
        let uuid = m.uuid
        func assign(_ r: HostState.MatrixResource, _ on: Bool) -> SysfsAttribute {
            .writeOnly { bytes in
                let id = try KernelParsers.kstrtoul(bytes)
                try host.update { s in
                    if on { try s.assign(r, id: id, to: uuid) } else { try s.unassign(r, id: id, from: uuid) }
                }
            }
        }
        return SysfsDirectory([
            .attribute("assign_adapter", assign(.adapter, true)),
            .attribute("unassign_adapter", assign(.adapter, false)),
            .attribute("assign_domain", assign(.domain, true)),
            .attribute("unassign_domain", assign(.domain, false)),
            .attribute("assign_control_domain", assign(.controlDomain, true)),
            .attribute("unassign_control_domain", assign(.controlDomain, false)),
            .attribute("ap_config", .readWrite({
                try mdev(host, uuid) { m, _ in
                    [m.matrix.adapters, m.matrix.domains, m.matrix.controlDomains].map(KernelFormat.mask).joined(separator: ",") + "\n"
                }
            }) { bytes in
                let new = try KernelParsers.apConfig(bytes)
                try host.update { try $0.setAPConfig(new, of: uuid) }
            }),
            .attribute("control_domains", .readOnly {
                try mdev(host, uuid) { m, s in
                    m.matrix.controlDomains.ids.filter { $0 <= s.maxDomainIDForMdev }.map { KernelFormat.domain($0) + "\n" }.joined()
                }
            }),
            .attribute("matrix", .readOnly { try mdev(host, uuid) { m, s in matrixText(m.matrix, s) } }),
            .attribute("guest_matrix", .readOnly { try mdev(host, uuid) { m, s in matrixText(m.shadow, s) } }),
            .attribute("remove", .writeOnly { bytes in
                // remove_store: any kstrtoul failure is EINVAL; 0 does nothing.
                let v: UInt64
                do { v = try KernelParsers.kstrtoul(bytes) } catch { throw Errno.invalidArgument }
                guard v != 0 else { return }
                // Blocks while a guest holds the mdev, as the kernel does.
                try host.removeMdev(uuid: uuid, task: CurrentTask.value)
            }),
            .link("mdev_type", "../mdev_supported_types/\(MatrixDirectory.typeName)"),
            .link("driver", "../../../../bus/mdev/drivers/vfio_ap_mdev"),
            .link("subsystem", "../../../../bus/mdev"),
            .link("iommu_group", "../../../../kernel/iommu_groups/\(m.iommuGroup)"),
            DriverCore.uevent(host, .mdev(uuid)),
            .directory("vfio-dev", SysfsDirectory([.directory("vfio\(m.vfioDeviceIndex)", SysfsDirectory([
                .link("device", "../../../\(uuid)"),
                .link("subsystem", "../../../../../../class/vfio-dev"),
                DriverCore.uevent(host, .vfioDevice(mdev: uuid, index: m.vfioDeviceIndex)),
            ]))])),
        ])
    }

    /// `vfio_ap_mdev_matrix_show`: APQN lines when both masks have IDs, else
    /// `%02lx.` or `.%04lx` lines; only IDs up to the maxima are shown.
    static func matrixText(_ m: APMatrix, _ s: HostState) -> String {
        let apids = m.adapters.ids.filter { $0 <= s.maxAdapterIDForMdev }
        let apqis = m.domains.ids.filter { $0 <= s.maxDomainIDForMdev }
        if !apids.isEmpty && !apqis.isEmpty {
            var out = ""
            out.reserveCapacity(apids.count * apqis.count * 8)
            for a in apids { for d in apqis { out += KernelFormat.apqn(APQN(card: a, domain: d)) + "\n" } }
            return out
        }
        if !apids.isEmpty { return apids.map { KernelFormat.adapter($0) + ".\n" }.joined() }
        return apqis.map { "." + KernelFormat.domain($0) + "\n" }.joined()
    }

    static func mdev(_ host: S390Host, _ uuid: String, _ body: (MediatedDevice, HostState) -> String) throws -> String {
        try host.read { s in
            guard let i = s.mdevIndex(uuid: uuid) else { throw Errno.noDevice }
            return body(s.mdevs[i], s)
        }
    }
}
