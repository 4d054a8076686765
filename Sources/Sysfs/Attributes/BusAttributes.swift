import APCore
import SystemPackage

/// /sys/bus/ap: ap_bus.c `ap_bus_attrs[]` in its order, then the driver
/// core's bus files.
enum BusAttributes {
    static func entries(_ host: S390Host) -> [SysfsDirectory.Entry] {
        [
            .attribute("ap_domain", .readWrite({ host.read { Show.line($0.bus.defaultDomain) } }) { bytes in
                // ap_domain_store: sscanf "%i\n", then range and aqmask checks.
                guard let d = KernelParsers.scanInt(bytes, detectBase: true) else { throw Errno.invalidArgument }
                try host.update { try $0.setDefaultDomain(Int(d)) }
            }),
            .attribute("ap_control_domain_mask", .readOnly { host.read { qciMask($0, $0.hostConfig.controlDomains) } }),
            .attribute("ap_usage_domain_mask", .readOnly { host.read { qciMask($0, $0.hostConfig.domains) } }),
            .attribute("ap_adapter_mask", .readOnly { host.read { qciMask($0, $0.hostConfig.adapters) } }),
            .attribute("config_time", .readWrite({ host.read { Show.line($0.bus.configTime) } }) { bytes in
                guard let t = KernelParsers.scanInt(bytes) else { throw Errno.invalidArgument }
                try host.update { try $0.setConfigTime(Int(t)) }
            }),
            .attribute("poll_thread", .readWrite({ host.read { Show.flag($0.bus.pollThread) } }) { bytes in
                let on = try KernelParsers.kstrtobool(bytes)
                try host.update { $0.setPollThread(on) }
            }),
            .attribute("ap_interrupts", .readOnly { host.read { Show.flag($0.machine.interrupts) } }),
            .attribute("poll_timeout", .readWrite({ host.read { Show.line($0.bus.pollTimeout) } }) { bytes in
                let ns = try KernelParsers.kstrtoul(bytes)
                try host.update { try $0.setPollTimeout(ns) }
            }),
            .attribute("ap_max_domain_id", .readOnly { host.read { Show.line($0.machine.maxDomainID) } }),
            .attribute("ap_max_adapter_id", .readOnly { host.read { Show.line($0.machine.maxAdapterID) } }),
            .attribute("apmask", .readWrite({ host.read { KernelFormat.mask($0.bus.apmask) + "\n" } }) { bytes in
                try host.update { s in
                    if s.driverOverrideCount > 0 { throw Errno.invalidArgument }
                    try s.setAPMask(try KernelParsers.bitmapEdit(bytes, current: s.bus.apmask))
                }
            }),
            .attribute("aqmask", .readWrite({ host.read { KernelFormat.mask($0.bus.aqmask) + "\n" } }) { bytes in
                try host.update { s in
                    if s.driverOverrideCount > 0 { throw Errno.invalidArgument }
                    try s.setAQMask(try KernelParsers.bitmapEdit(bytes, current: s.bus.aqmask))
                }
            }),
            .attribute("scans", .readWrite({ host.read { Show.line($0.bus.scans) } }) { _ in
                try host.update { $0.rescanBus() }
            }),
            .attribute("bindings", .readOnly {
                host.read { s in
                    let c = s.bindingCounts
                    return s.bindingsComplete ? "\(c.bound)/\(c.total) (complete)\n" : "\(c.bound)/\(c.total)\n"
                }
            }),
            .attribute("bindings_complete_count", .readOnly { host.read { Show.line($0.bus.bindingsCompleteCount) } }),
            .attribute("features", .readOnly {
                host.read { s in
                    // features_show: each flag with a trailing space, the last space made a newline.
                    guard s.machine.qciInfoValid else { return "-\n" }
                    return s.machine.busFeatures.joined(separator: " ") + "\n"
                }
            }),
        ] + DriverCore.busEntries(host, bus: "ap")
    }

    /// `ap_*_mask_show`: the QCI words as 0x%08x x 8, or `not supported`.
    static func qciMask(_ s: HostState, _ m: APMask) -> String {
        s.machine.qciInfoValid ? KernelFormat.qciMask(m) + "\n" : "not supported\n"
    }
}
