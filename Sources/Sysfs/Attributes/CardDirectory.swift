import APCore
import SystemPackage

/// /sys/devices/ap/cardXX: ap_card.c `ap_card_dev_attrs[]`, the zcrypt card
/// groups while bound to cex4card, the driver-core links, and the queues.
enum CardDirectory {
    static func make(_ host: S390Host, _ s: HostState, card id: Int) -> SysfsDirectory {
        let name = KernelFormat.cardName(id)
        var e: [SysfsDirectory.Entry] = [
            .attribute("hwtype", .readOnly { host.read { Show.line($0.deviceType(ofCard: id)) } }),
            .attribute("raw_hwtype", .readOnly { try card(host, id) { c, _ in Show.line(c.cardHardwareInfo.apType) } }),
            // depth_show prints qd + 1 since v6.19-rc7 ("s390/ap: Fix wrong
            // APQN fill calculation"): TAPQ's qd is the highest index, not the count.
            .attribute("depth", .readOnly { try card(host, id) { c, _ in Show.line(c.cardHardwareInfo.queueDepth + 1) } }),
            .attribute("ap_functions", .readOnly { try card(host, id) { c, _ in KernelFormat.functions(c.cardHardwareInfo.facilities) + "\n" } }),
            .attribute("request_count", .readWrite({ try card(host, id) { c, _ in Show.line(c.requestCount) } }) { _ in
                try host.update { $0.resetCardRequestCounts(id) }
            }),
            .attribute("requestq_count", .readOnly { "0\n" }),
            .attribute("pendingq_count", .readOnly { "0\n" }),
            .attribute("modalias", .readOnly { host.read { KernelFormat.modalias(deviceType: $0.deviceType(ofCard: id)) + "\n" } }),
            .attribute("config", .readWrite({ try card(host, id) { c, _ in Show.flag(c.configured) } }) { bytes in
                guard let v = KernelParsers.scanInt(bytes), v == 0 || v == 1 else { throw Errno.invalidArgument }
                try host.update { try $0.setCardConfigured(id, v == 1) }
            }),
            .attribute("chkstop", .readOnly { try card(host, id) { c, _ in Show.flag(c.checkstopped) } }),
            .attribute("max_msg_size", .readOnly { try card(host, id) { c, _ in Show.line(c.cardHardwareInfo.maxMessageSize) } }),
        ]
        if let c = s.adapters[id], c.boundToCEX4Card {
            e += zcryptEntries(host, c)
            e.append(.link("driver", "../../../bus/ap/drivers/cex4card"))
        }
        e.append(.link("subsystem", "../../../bus/ap"))
        e.append(DriverCore.uevent(host, .card(id)))
        let fixed = e
        return SysfsDirectory(
            list: {
                fixed.map { DirectoryEntry(name: $0.name, type: $0.type) }
                    + host.read { $0.queueAPQNs(ofCard: id) }.map { DirectoryEntry(name: $0.description, type: .directory) }
            },
            child: { n in
                if let f = fixed.first(where: { $0.name == n }) { return f.make() }
                guard case .queue(let q)? = s.parseDeviceName(n), q.card == id else { return nil }
                return host.read { st in st.queues[q] == nil ? nil : .directory(QueueDirectory.make(host, st, q)) }
            },
            subdirectories: { host.read { $0.queueAPQNs(ofCard: id).count } })
    }

    /// zcrypt_card.c group {type, online, load}, then CCA {serialnr} or EP11
    /// {API_ordinalnr, FW_version, serialnr, op_modes}.
    static func zcryptEntries(_ host: S390Host, _ c: Adapter) -> [SysfsDirectory.Entry] {
        let id = c.id
        var e: [SysfsDirectory.Entry] = [
            .attribute("type", .readOnly {
                try card(host, id) { c, s in
                    "CEX\(APDeviceType.generation(s.deviceType(ofCard: id)))\(c.cardHardwareInfo.mode?.typeSuffix ?? "")\n"
                }
            }),
            .attribute("online", .readWrite({
                try card(host, id) { c, _ in Show.flag(c.configured && !c.checkstopped && c.zcryptOnline) }
            }) { bytes in
                guard let v = KernelParsers.scanInt(bytes), v == 0 || v == 1 else { throw Errno.invalidArgument }
                try host.update { try $0.setCardOnline(id, v == 1) }
            }),
            .attribute("load", .readOnly { try card(host, id) { c, _ in Show.line(c.load) } }),
        ]
        let hw = c.cardHardwareInfo
        if hw.cca {
            // cca_serialnr_show asks any online domain of the card (598bbefa);
            // with no info cache (v6.16) an unreachable card gives an empty line.
            e.append(.attribute("serialnr", .readOnly {
                try card(host, id) { c, s in s.cardReachable(id) ? c.serialNumber + "\n" : "\n" }
            }))
        } else if hw.ep11 {
            // ep11_get_card_info queries the card through any online domain;
            // since v6.16 there is no cache, so an unreachable card reads empty.
            e.append(.attribute("API_ordinalnr", .readOnly {
                try card(host, id) { c, s in
                    guard s.cardReachable(id), let n = c.ep11APIOrdinal, n > 0 else { return "\n" }
                    return "\(n)\n"
                }
            }))
            e.append(.attribute("FW_version", .readOnly {
                try card(host, id) { c, s in
                    guard s.cardReachable(id), let v = c.ep11FirmwareVersion, v.major > 0 || v.minor > 0 else { return "\n" }
                    return "\(v.major).\(v.minor)\n"
                }
            }))
            e.append(.attribute("serialnr", .readOnly {
                try card(host, id) { c, s in
                    // %16.16s: right-aligned in 16, cut to 16.
                    guard s.cardReachable(id), !c.serialNumber.isEmpty else { return "\n" }
                    let serial = String(c.serialNumber.prefix(16))
                    return String(repeating: " ", count: 16 - serial.count) + serial + "\n"
                }
            }))
            e.append(.attribute("op_modes", .readOnly {
                try card(host, id) { c, s in opModes(s.cardReachable(id) ? c.ep11OperationModes : []) }
            }))
        }
        return e
    }

    /// The op-mode names in bit order, space separated, newline terminated.
    static func opModes(_ modes: [String]) -> String {
        EP11OperationModes.names.filter(modes.contains).joined(separator: " ") + "\n"
    }

    /// Reads a card that may have disappeared (ENODEV, as kernfs answers for
    /// a removed node).
    static func card(_ host: S390Host, _ id: Int, _ body: (Adapter, HostState) -> String) throws -> String {
        try host.read { s in
            guard s.hasCardDevice(id), let c = s.adapters[id] else { throw Errno.noDevice }
            return body(c, s)
        }
    }
}
