import APCore
import SystemPackage

/// /sys/devices/ap/cardXX/XX.YYYY: ap_queue.c `ap_queue_dev_attrs[]`, the
/// emulator's `hwinfo`, and the driver's group: zcrypt {online, load, mkvps,
/// op_modes} under cex4queue, `status` under vfio_ap.
enum QueueDirectory {
    static func make(_ host: S390Host, _ s: HostState, _ q: APQN) -> SysfsDirectory {
        var e: [SysfsDirectory.Entry] = [
            .attribute("request_count", .readWrite({
                try queue(host, q) { qu, _ in qu.initialized ? Show.line(qu.requestCount) : "-\n" }
            }) { _ in try host.update { $0.resetQueueRequestCount(q) } }),
            .attribute("requestq_count", .readOnly { try queue(host, q) { _, _ in "0\n" } }),
            .attribute("pendingq_count", .readOnly { try queue(host, q) { _, _ in "0\n" } }),
            .attribute("reset", .readWrite({
                try queue(host, q) { qu, _ in qu.resetPending ? "Reset in progress.\n" : "No Reset Timer set.\n" }
            }) { _ in try host.update { $0.requestQueueReset(q) } }),
            .attribute("interrupt", .readOnly {
                try queue(host, q) { qu, s in
                    // Live TAPQ: a queue whose reset failed (deconfigured,
                    // checkstopped) has no interrupts enabled.
                    qu.initialized && !qu.resetPending && s.machine.interrupts ? "Interrupts enabled.\n" : "Interrupts disabled.\n"
                }
            }),
            .attribute("config", .readOnly { try queue(host, q) { _, s in Show.flag(s.isConfigured(q)) } }),
            .attribute("chkstop", .readOnly { try queue(host, q) { _, s in Show.flag(s.isCheckstopped(q)) } }),
            .attribute("ap_functions", .readOnly {
                try queue(host, q) { qu, _ in KernelFormat.functions(qu.hardwareInfo.facilities) + "\n" }
            }),
            .attribute("driver_override", .readWrite({
                try queue(host, q) { qu, _ in (qu.driverOverride ?? "") + "\n" }
            }) { bytes in
                try host.update { s in
                    // driver_override_store: refused while the masks are in use, before parsing.
                    if s.masksInUse { throw Errno.invalidArgument }
                    try s.setDriverOverride(q, try KernelParsers.driverOverride(bytes))
                }
            }),
            .attribute("hwinfo", .readWrite({
                try queue(host, q) { qu, _ in KernelFormat.hwinfo(qu.hardwareInfo.value) + "\n" }
            }) { bytes in
                let v = try KernelParsers.kstrtoul(bytes)
                try host.update { try $0.setQueueHardwareInfo(q, v) }
            }),
        ]
        if s.hasSecureBindingAttributes { e += secureBindingEntries(host, q) }
        let parentCardHW = s.adapters[q.card]?.cardHardwareInfo ?? HardwareInfo(value: 0)
        switch s.queues[q]?.driver {
        case .cex4queue?:
            e += zcryptEntries(host, q, cardHW: parentCardHW)
            e.append(.link("driver", "../../../../bus/ap/drivers/cex4queue"))
        case .vfioAP?:
            e.append(.attribute("status", .readOnly { try queue(host, q) { _, s in s.vfioQueueStatus(q) + "\n" } }))
            e.append(.link("driver", "../../../../bus/ap/drivers/vfio_ap"))
        case nil:
            break
        }
        e.append(.link("subsystem", "../../../../bus/ap"))
        e.append(DriverCore.uevent(host, .queue(q)))
        return SysfsDirectory(e)
    }

    /// ap_queue.c `ap_queue_dev_sb_attrs[]`, added in an SE guest with APSB.
    static func secureBindingEntries(_ host: S390Host, _ q: APQN) -> [SysfsDirectory.Entry] {
        [
            .attribute("se_bind", .readWrite({
                try queue(host, q) { qu, s in
                    guard s.supportsBind(q) else { return "-\n" }
                    return qu.hardwareInfo.bindState <= HostState.bsUsableNoSecureKey ? "bound\n" : "unbound\n"
                }
            }) { bytes in
                try host.update { s in
                    guard s.supportsBind(q) else { throw Errno.invalidArgument }
                    try s.secureBind(q, try KernelParsers.kstrtobool(bytes))
                }
            }),
            .attribute("se_associate", .readWrite({
                try host.read { s in
                    guard let qu = s.queues[q] else { throw Errno.noDevice }
                    guard s.supportsAssociation(q) else { return "-\n" }
                    switch qu.hardwareInfo.bindState {
                    case HostState.bsUsable:
                        // A usable queue without an index is the driver's EIO.
                        guard let idx = qu.associationIndex else { throw Errno.ioError }
                        return "associated \(idx)\n"
                    case HostState.bsUsableNoSecureKey where qu.associationIndex != nil:
                        return "association pending\n"
                    default:
                        return "unassociated\n"
                    }
                }
            }) { bytes in
                try host.update { s in
                    guard s.supportsAssociation(q) else { throw Errno.invalidArgument }
                    // kstrtouint: an unsigned int, ERANGE above it.
                    let v = try KernelParsers.kstrtoul(bytes)
                    guard v <= UInt64(UInt32.max) else { throw Errno.outOfRange }
                    try s.secureAssociate(q, index: v)
                }
            }),
        ]
    }

    /// zcrypt_queue.c {online, load}, then CCA {mkvps} or EP11 {mkvps, op_modes}.
    static func zcryptEntries(_ host: S390Host, _ q: APQN, cardHW: HardwareInfo) -> [SysfsDirectory.Entry] {
        var e: [SysfsDirectory.Entry] = [
            .attribute("online", .readWrite({
                try queue(host, q) { _, s in Show.flag(s.isZcryptQueueOnline(q)) }
            }) { bytes in
                guard let v = KernelParsers.scanInt(bytes), v == 0 || v == 1 else { throw Errno.invalidArgument }
                try host.update { try $0.setQueueOnline(q, v == 1) }
            }),
            .attribute("load", .readOnly { try queue(host, q) { qu, _ in Show.line(qu.load) } }),
        ]
        if cardHW.cca {
            // cca_get_info(..., zq->online): no info cache since v6.16, so an
            // offline queue cannot be asked and every line is `- -`.
            e.append(.attribute("mkvps", .readOnly {
                try queue(host, q) { qu, s in ccaMasterKeys(s.isZcryptQueueOnline(q) ? qu.masterKeys : nil) }
            }))
        } else if cardHW.ep11 {
            e.append(.attribute("mkvps", .readOnly {
                try queue(host, q) { qu, s in ep11MasterKeys(s.isZcryptQueueOnline(q) ? qu.masterKeys : nil) }
            }))
            e.append(.attribute("op_modes", .readOnly {
                try queue(host, q) { _, s in
                    s.isZcryptQueueOnline(q) ? CardDirectory.opModes(s.adapters[q.card]?.ep11OperationModes ?? []) : "\n"
                }
            }))
        }
        return e
    }

    /// `cca_mkvps_show`: nine lines; `- -` where the state is unknown.
    static func ccaMasterKeys(_ keys: MasterKeyState?) -> String {
        var out = ""
        for k in ["AES", "APKA", "ASYM"] {
            for r in ["NEW", "CUR", "OLD"] {
                let label = "\(k) \(r)"
                if let reg = keys?.registers[label] {
                    out += "\(label): \(reg.state) 0x\(reg.verificationPattern.map { KernelFormat.hex($0, width: 2) }.joined())\n"
                } else {
                    out += "\(label): - -\n"
                }
            }
        }
        return out
    }

    /// `ep11_mkvps_show`: `WK CUR` and `WK NEW`; `-` as the pattern for an
    /// invalid current or empty new key; `- -` when unknown (queue offline).
    static func ep11MasterKeys(_ keys: MasterKeyState?) -> String {
        var out = ""
        for r in ["CUR", "NEW"] {
            let label = "WK \(r)"
            if let reg = keys?.registers[label] {
                let blank = reg.state == "invalid" || reg.state == "empty"
                let vp = blank ? "-" : "0x" + reg.verificationPattern.map { KernelFormat.hex($0, width: 2) }.joined()
                out += "\(label): \(reg.state) \(vp)\n"
            } else {
                out += "\(label): - -\n"
            }
        }
        return out
    }

    static func queue(_ host: S390Host, _ q: APQN, _ body: (Queue, HostState) -> String) throws -> String {
        try host.read { s in
            guard let qu = s.queues[q] else { throw Errno.noDevice }
            return body(qu, s)
        }
    }
}
