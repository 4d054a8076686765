import APCore
import SystemPackage

/// /sys/kernel/iommu_groups: one emulated-IOMMU group per mdev
/// (`vfio_noiommu_group_alloc`, drivers/iommu/iommu.c group attributes).
enum IommuGroups {
    static func directory(_ host: S390Host) -> SysfsDirectory {
        SysfsDirectory(
            list: { host.read { $0.mdevs.map(\.iommuGroup).sorted().map { DirectoryEntry(name: String($0), type: .directory) } } },
            child: { n in
                host.read { st in
                    guard let m = st.mdevs.first(where: { String($0.iommuGroup) == n }) else { return nil }
                    return .directory(group(m.uuid))
                }
            })
    }

    static func group(_ uuid: String) -> SysfsDirectory {
        SysfsDirectory([
            .directory("devices", SysfsDirectory([.link(uuid, "../../../../devices/vfio_ap/matrix/\(uuid)")])),
            .attribute("name", .readOnly { "vfio-noiommu\n" }),
            // No group device has dev->iommu: empty.
            .attribute("reserved_regions", .readOnly { "" }),
            // No default domain.
            .attribute("type", .readWrite({ "unknown\n" }) { _ in throw Errno.invalidArgument }),
        ])
    }
}
