import APCore
import SystemPackage

/// The directory layout of the emulated /sys: the AP bus, the vfio_ap
/// matrix device and the driver-core views of them.
enum SysfsLayout {
    static func root(_ host: S390Host, _ s: HostState) -> SysfsDirectory {
        SysfsDirectory([
            .directory("bus", SysfsDirectory([
                .directory("ap", apBus(host, s)),
                .directory("matrix", matrixBus(host)),
                .directory("mdev", mdevBus(host)),
            ])),
            .directory("class", SysfsDirectory([
                .directory("mdev_bus", SysfsDirectory([.link("matrix", "../../devices/vfio_ap/matrix")])),
                .directory("vfio-dev", SysfsDirectory(
                    list: { host.read { $0.mdevs.map { DirectoryEntry(name: "vfio\($0.vfioDeviceIndex)", type: .symlink) } } },
                    child: { n in
                        host.read { st in
                            guard let m = st.mdevs.first(where: { "vfio\($0.vfioDeviceIndex)" == n }) else { return nil }
                            return .symlink("../../devices/vfio_ap/matrix/\(m.uuid)/vfio-dev/\(n)")
                        }
                    })),
            ])),
            .directory("devices", SysfsDirectory([
                .directory("ap", apRootDevice(host, s)),
                .directory("vfio_ap", SysfsDirectory([
                    .directory("matrix", MatrixDirectory.make(host, s)),
                    .link("module", "../../module/vfio_ap"),
                    // A root device has no bus or class: dev_uevent_filter hides it.
                    DriverCore.filteredUevent(host, devpath: "/devices/vfio_ap"),
                ])),
            ])),
            // Where container runtimes mount cgroups when the tree is their
            // /sys (an s390 host has these too; nothing of them is emulated).
            .directory("fs", SysfsDirectory([.directory("cgroup", SysfsDirectory([]))])),
            .directory("kernel", SysfsDirectory([.directory("iommu_groups", IommuGroups.directory(host))])),
            .directory("module", SysfsDirectory([
                .directory("vfio_ap", module(host, drivers: ["ap:vfio_ap": "../../../bus/ap/drivers/vfio_ap",
                                                             "matrix:vfio_ap": "../../../bus/matrix/drivers/vfio_ap",
                                                             "mdev:vfio_ap_mdev": "../../../bus/mdev/drivers/vfio_ap_mdev"])),
                .directory("zcrypt_cex4", module(host, drivers: ["ap:cex4card": "../../../bus/ap/drivers/cex4card",
                                                                 "ap:cex4queue": "../../../bus/ap/drivers/cex4queue"])),
            ])),
        ])
    }

    // MARK: - AP bus

    static func apBus(_ host: S390Host, _ s: HostState) -> SysfsDirectory {
        SysfsDirectory(BusAttributes.entries(host) + [
            .directory("devices", SysfsDirectory(
                list: {
                    host.read { st in
                        st.sortedAdapterIDs.filter(st.hasCardDevice).flatMap { id in
                            [DirectoryEntry(name: KernelFormat.cardName(id), type: .symlink)]
                                + st.queueAPQNs(ofCard: id).map { DirectoryEntry(name: $0.description, type: .symlink) }
                        }
                    }
                },
                child: { n in
                    host.read { st in
                        switch st.parseDeviceName(n) {
                        case .card(let id)?: return st.hasCardDevice(id) ? .symlink("../../../devices/ap/\(n)") : nil
                        case .queue(let q)?:
                            return st.queues[q] != nil ? .symlink("../../../devices/ap/\(KernelFormat.cardName(q.card))/\(n)") : nil
                        case nil: return nil
                        }
                    }
                },
                subdirectories: { 0 })),
            .directory("drivers", SysfsDirectory(APDriverName.allCases.map { d in
                .directory(d.rawValue, apDriver(host, d))
            })),
        ])
    }

    /// bus/ap/drivers/<driver>: bind, unbind, uevent, module, device links.
    static func apDriver(_ host: S390Host, _ d: APDriverName) -> SysfsDirectory {
        let fixed = DriverCore.driverEntries(
            host, bus: "ap", driver: d.rawValue, module: d == .vfioAP ? "vfio_ap" : "zcrypt_cex4",
            bind: { bytes in
                let name = KernelParsers.deviceName(bytes)
                try host.update { try $0.bind(driver: d, device: name) }
            },
            unbind: { bytes in
                let name = KernelParsers.deviceName(bytes)
                try host.update { try $0.unbind(driver: d, device: name) }
            })
        func boundDevices(_ st: HostState) -> [String] {
            switch d {
            case .cex4card:
                return st.sortedAdapterIDs.filter { st.hasCardDevice($0) && st.adapters[$0]!.boundToCEX4Card }.map(KernelFormat.cardName)
            case .cex4queue, .vfioAP:
                let want: QueueDriver = d == .cex4queue ? .cex4queue : .vfioAP
                return st.allQueueAPQNs.filter { st.queues[$0]?.driver == want }.map(\.description)
            }
        }
        func target(_ st: HostState, _ n: String) -> String? {
            switch st.parseDeviceName(n) {
            case .card(let id)? where d == .cex4card && st.hasCardDevice(id) && st.adapters[id]!.boundToCEX4Card:
                return "../../../../devices/ap/\(n)"
            case .queue(let q)? where st.queues[q]?.driver?.rawValue == d.rawValue:
                return "../../../../devices/ap/\(KernelFormat.cardName(q.card))/\(n)"
            default:
                return nil
            }
        }
        return SysfsDirectory(
            list: {
                fixed.map { DirectoryEntry(name: $0.name, type: $0.type) }
                    + host.read(boundDevices).map { DirectoryEntry(name: $0, type: .symlink) }
            },
            child: { n in
                if let f = fixed.first(where: { $0.name == n }) { return f.make() }
                return host.read { st in target(st, n).map { .symlink($0) } }
            },
            subdirectories: { 0 })
    }

    /// /sys/devices/ap: the AP root device and its cards.
    static func apRootDevice(_ host: S390Host, _ s: HostState) -> SysfsDirectory {
        let fixed: [SysfsDirectory.Entry] = [
            // ap_uevent adds nothing for the root device; it has no type or driver.
            DriverCore.uevent(host, .apRoot),
        ]
        return SysfsDirectory(
            list: {
                host.read { st in st.sortedAdapterIDs.filter(st.hasCardDevice) }
                    .map { DirectoryEntry(name: KernelFormat.cardName($0), type: .directory) }
                    + fixed.map { DirectoryEntry(name: $0.name, type: $0.type) }
            },
            child: { n in
                if let f = fixed.first(where: { $0.name == n }) { return f.make() }
                return host.read { st in
                    guard case .card(let id)? = st.parseDeviceName(n), st.hasCardDevice(id) else { return nil }
                    return .directory(CardDirectory.make(host, st, card: id))
                }
            },
            subdirectories: { host.read { st in st.adapters.keys.filter(st.hasCardDevice).count } })
    }

    // MARK: - matrix and mdev buses

    static func matrixBus(_ host: S390Host) -> SysfsDirectory {
        SysfsDirectory([
            .directory("devices", SysfsDirectory([.link("matrix", "../../../devices/vfio_ap/matrix")])),
            .directory("drivers", SysfsDirectory([
                // matrix_driver sets suppress_bind_attrs: no bind/unbind.
                .directory("vfio_ap", SysfsDirectory(
                    DriverCore.driverEntries(host, bus: "matrix", driver: "vfio_ap", module: "vfio_ap", bind: nil, unbind: nil)
                        + [.link("matrix", "../../../../devices/vfio_ap/matrix")])),
            ])),
        ] + DriverCore.busEntries(host, bus: "matrix"))
    }

    static func mdevBus(_ host: S390Host) -> SysfsDirectory {
        let mdevLinks = { (prefix: String) in
            SysfsDirectory(
                list: { host.read { $0.mdevs.map { DirectoryEntry(name: $0.uuid, type: .symlink) } } },
                child: { n in host.read { $0.mdevIndex(uuid: n) != nil ? .symlink("\(prefix)devices/vfio_ap/matrix/\(n)") : nil } })
        }
        let driverFixed = DriverCore.driverEntries(
            host, bus: "mdev", driver: "vfio_ap_mdev", module: "vfio_ap",
            bind: { _ in
                // bind_store checks the bus match first, and mdev_match always
                // fails: every bind is ENODEV.
                throw Errno.noDevice
            },
            unbind: { bytes in
                let name = KernelParsers.deviceName(bytes)
                try host.read { st in
                    guard st.mdevIndex(uuid: name) != nil else { throw Errno.noDevice }
                    // Unbinding an mdev from its driver is not modelled.
                    throw Errno.resourceBusy
                }
            })
        let links = mdevLinks("../../../../")
        return SysfsDirectory([
            .directory("devices", mdevLinks("../../../")),
            .directory("drivers", SysfsDirectory([
                .directory("vfio_ap_mdev", SysfsDirectory(
                    list: { driverFixed.map { DirectoryEntry(name: $0.name, type: $0.type) } + links.list() },
                    child: { n in driverFixed.first(where: { $0.name == n })?.make() ?? links.child(n) })),
            ])),
        ] + DriverCore.busEntries(host, bus: "mdev"))
    }

    /// /sys/module/<name>: `initstate` and the driver links.
    static func module(_ host: S390Host, drivers: [String: String]) -> SysfsDirectory {
        SysfsDirectory([
            .directory("drivers", SysfsDirectory(drivers.keys.sorted().map { .link($0, drivers[$0]!) })),
            .attribute("initstate", .readOnly { "live\n" }),
        ])
    }
}
