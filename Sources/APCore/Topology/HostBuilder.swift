import Foundation
import SystemPackage

/// Boots a host from a topology: the AP bus scan creates card and queue
/// devices and probes them, then the topology's mdevs are set up through
/// the same rules a user's writes go through.
public enum HostBuilder {
    public static func build(_ t: Topology, file: String, name: String? = nil) throws -> S390Host {
        var hostConfig = APMatrix()
        if t.machine.qciInfoValid {
            for a in t.adapters where a.inConfiguration { hostConfig.adapters.insert(a.id) }
            for d in t.usageDomains { hostConfig.domains.insert(d) }
            for d in t.controlDomains { hostConfig.controlDomains.insert(d) }
        } else {
            // ap_test_config_card_id / _usage_domain / _ctrl_domain without
            // valid QCI info: every ID up to the limits counts as configured.
            for a in 0...t.machine.maxAdapterID { hostConfig.adapters.insert(a) }
            for d in 0...t.machine.maxDomainID {
                hostConfig.domains.insert(d)
                hostConfig.controlDomains.insert(d)
            }
        }
        var s = HostState(machine: t.machine, hostConfig: hostConfig, vfioFeatures: t.vfioFeatures)
        s.bus.apmask = t.apmask
        s.bus.aqmask = t.aqmask
        // The machine: its partition's adapters and domains, whether QCI
        // reports them or not (TAPQ answers only for these).
        s.hardware.config = APMatrix(adapters: APMask(ids: t.adapters.filter(\.inConfiguration).map(\.id)),
                                     domains: APMask(ids: t.usageDomains), controlDomains: APMask(ids: t.controlDomains))

        s.queues.reserveCapacity(t.adapters.count * t.usageDomains.count)
        for spec in t.adapters {
            var a = Adapter(id: spec.id, hardwareInfo: spec.hardwareInfo)
            if !spec.configured { s.hardware.deconfigured.insert(spec.id) }
            if spec.checkstopped { s.hardware.checkstopped.insert(spec.id) }
            a.serialNumber = spec.serialNumber
            a.ep11APIOrdinal = spec.ep11APIOrdinal
            if let major = spec.ep11FirmwareMajor, let minor = spec.ep11FirmwareMinor {
                a.ep11FirmwareVersion = FirmwareVersion(major: major, minor: minor)
            }
            a.ep11OperationModes = spec.ep11OperationModes
            // ap_scan_adapter at boot: a card device for an adapter of the
            // configuration with a usage domain that answers TAPQ and a
            // supported type.
            let tapq = s.adapterTAPQ(spec.id)
            a.configured = !tapq.deconfigured
            a.checkstopped = tapq.checkstopped
            a.cardDevice = false
            s.adapters[spec.id] = a
            a.cardDevice = hostConfig.adapters.contains(spec.id) && s.firstValidAPQN(ofAdapter: spec.id) != nil
                && APDeviceType.compatible(rawType: spec.hardwareInfo.apType, qact: t.machine.qact) != 0
            s.adapters[spec.id] = a
            guard a.cardDevice else { continue }
            for d in t.usageDomains where hostConfig.domains.contains(d) {
                let apqn = APQN(card: spec.id, domain: d)
                var q = Queue(apqn: apqn, hardwareInfo: spec.hardwareInfo)
                q.masterKeys = spec.masterKeys ?? Queue.unloadedMasterKeys(for: spec.hardwareInfo)
                s.queues[apqn] = q
            }
        }
        for (k, o) in t.queueOverrides.enumerated() {
            guard var q = s.queues[o.apqn] else {
                throw TopologyError(file: file, field: "queues[\(k)].apqn",
                                    message: "no queue device \(o.apqn): adapter type not supported by the AP bus")
            }
            if let hw = o.hardwareInfo { q.hardwareInfo = hw }
            if let b = o.bindState { q.hardwareInfo.bindState = b }
            if let c = o.configured { q.configuredOverride = c }
            if let c = o.checkstopped { q.checkstopped = c }
            if let d = o.driverOverride { q.driverOverride = d }
            if let m = o.masterKeys { q.masterKeys = m }
            s.queues[o.apqn] = q
        }
        // ap_queue.c driver_override_store refuses an override while the masks are in use.
        if s.driverOverrideCount > 0 && s.masksInUse {
            throw TopologyError(file: file, field: "queues", message: "driver_override needs apmask and aqmask all ones (ap_bus.c refuses it otherwise)")
        }
        // ap_scan_domains, per queue device: it starts with what TAPQ
        // answers; device_add probes it (attachQueue: no mdev exists yet, so
        // vfio_ap's probe links none, and the changes it would record are
        // dropped below); a configured queue is then initialised by the AP
        // bus whichever driver took it. One pass, in place: the large
        // topology has 65,536 queues, and a lookup or copy per step per
        // queue was most of its boot.
        precondition(s.mdevs.isEmpty, "queues are probed before any mdev exists")
        for i in s.queues.indices {
            var q = s.queues.values[i]
            if let tapq = s.tapq(q.apqn, queue: q) {
                q.config = !tapq.deconfigured
                q.chkstop = tapq.checkstopped
            }
            let usable = q.config && !q.chkstop
            if q.driver == nil, let d = s.acceptedDriver(of: q) {
                q.driver = d
                if d == .cex4queue {
                    // As attachQueue: zcrypt_cex4_queue_probe's ap_queue_init_state().
                    q.initialized = true
                    q.resetPending = !usable
                }
                q.resetResponseCode = 0
            }
            if usable {
                q.initialized = true
                q.resetPending = false
            }
            s.queues.values[i] = q
        }
        if let d = t.defaultDomain {
            do { try s.setDefaultDomain(d) } catch {
                throw TopologyError(file: file, field: "ap_bus.ap_domain", message: "domain \(d) is not a usable default domain")
            }
        } else if let first = t.usageDomains.first(where: { s.bus.aqmask.contains($0) }) {
            // ap_select_domain picks the first usable domain of the configuration.
            s.bus.defaultDomain = first
        }
        // mdev_register_parent when vfio_ap loads: dev_info on the matrix device.
        s.log(.info, KernelLog.deviceLine(driver: "vfio_ap", device: "matrix", "MDEV: Registered"))
        for (k, m) in t.mdevs.enumerated() {
            let path = "mdevs[\(k)]"
            do { try s.createMdev(uuid: m.uuid) } catch {
                throw TopologyError(file: file, field: "\(path).uuid", message: "mdev \(m.uuid) is listed twice")
            }
            for (field, resource, ids) in [("adapters", HostState.MatrixResource.adapter, m.adapters),
                                           ("domains", .domain, m.domains),
                                           ("control_domains", .controlDomain, m.controlDomains)] {
                for id in ids {
                    do { try s.assign(resource, id: UInt64(id), to: m.uuid) } catch {
                        let why = (error as? Errno).map { $0.kernelDescription } ?? "\(error)"
                        throw TopologyError(file: file, field: "\(path).\(field)",
                                            message: "cannot assign \(id) (0x\(KernelFormat.hex(id, width: 2))): \(why)")
                    }
                }
            }
        }
        s.bus.bindingsWereComplete = s.bindingsComplete
        s.changes.removeAll()
        return S390Host(name: name ?? t.name, state: s)
    }
}
