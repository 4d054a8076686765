import APCore
import SystemPackage

/// Files every bus, driver and device gets from the driver core
/// (drivers/base/bus.c, core.c).
enum DriverCore {
    /// `drivers_autoprobe`, `drivers_probe`, `uevent` of a bus.
    static func busEntries(_ host: S390Host, bus: String) -> [SysfsDirectory.Entry] {
        [
            .attribute("drivers_autoprobe", .readWrite({ host.read { Show.flag($0.bus.driversAutoprobe[bus] ?? true) } }) { bytes in
                // drivers_autoprobe_store: '0' switches it off, anything else on.
                let on = KernelParsers.cString(bytes).first != UInt8(ascii: "0")
                try host.update { $0.setDriversAutoprobe(bus: bus, on) }
            }),
            .attribute("drivers_probe", .writeOnly { bytes in
                let name = KernelParsers.deviceName(bytes)
                try host.update { s in
                    switch bus {
                    case "ap": try s.probeDevice(named: name)
                    case "matrix": guard name == "matrix" else { throw Errno.noDevice }
                    default: guard s.mdevIndex(uuid: name) != nil else { throw Errno.noDevice }
                    }
                }
            }),
            .attribute("uevent", .writeOnly { bytes in
                try host.update { try $0.synthesizeUevent(devpath: "/bus/\(bus)", object: .bus(bus), bytes) }
            }),
        ]
    }

    /// A device's `uevent` (0644): reading prints its environment, writing
    /// synthesizes an event.
    static func uevent(_ host: S390Host, _ object: UeventObject) -> SysfsDirectory.Entry {
        .attribute("uevent", .readWrite({
            try host.read { s in
                guard let env = UeventObjects.environment(object, s) else { throw Errno.noDevice }
                return env.map { $0 + "\n" }.joined()
            }
        }) { bytes in
            try host.update { try $0.synthesizeUevent(devpath: UeventObjects.devpath(object), object: object, bytes) }
        })
    }

    /// The `uevent` of a device the filter rejects (a root device without
    /// bus or class): empty, and a write sends nothing.
    static func filteredUevent(_ host: S390Host, devpath: String) -> SysfsDirectory.Entry {
        .attribute("uevent", .readWrite({ "" }) { bytes in
            try host.update { try $0.synthesizeUevent(devpath: devpath, object: nil, bytes) }
        })
    }

    /// A driver directory's `bind`, `unbind`, `uevent` and `module` link.
    static func driverEntries(_ host: S390Host, bus: String, driver: String, module: String?,
                              bind: (([UInt8]) throws -> Void)?, unbind: (([UInt8]) throws -> Void)?) -> [SysfsDirectory.Entry] {
        var e: [SysfsDirectory.Entry] = []
        if let bind { e.append(.attribute("bind", .writeOnly(bind))) }
        if let module { e.append(.link("module", "../../../../module/\(module)")) }
        if let unbind { e.append(.attribute("unbind", .writeOnly(unbind))) }
        e.append(.attribute("uevent", .writeOnly { bytes in
            try host.update { try $0.synthesizeUevent(devpath: "/bus/\(bus)/drivers/\(driver)", object: .driver(bus: bus, name: driver), bytes) }
        }))
        return e
    }
}
