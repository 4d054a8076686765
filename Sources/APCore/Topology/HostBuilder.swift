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

        var cards: [Topology.AdapterSpec] = []
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
            a.zcryptOnline = spec.online ?? true
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
            if a.cardDevice { cards.append(spec) }
        }
        var queues = BootQueues(cards: cards.sorted { $0.id < $1.id },
                                domains: Set(t.usageDomains).filter { hostConfig.domains.contains($0) }.sorted())
        for (k, o) in t.queueOverrides.enumerated() {
            guard var q = queues[o.apqn] else {
                throw TopologyError(file: file, field: "queues[\(k)].apqn",
                                    message: "no queue device \(o.apqn): adapter type not supported by the AP bus")
            }
            if let hw = o.hardwareInfo { q.hardwareInfo = hw }
            if let b = o.bindState { q.hardwareInfo.bindState = b }
            if let c = o.configured { q.configuredOverride = c }
            if let c = o.checkstopped { q.checkstopped = c }
            if let d = o.driverOverride { q.driverOverride = d }
            if let m = o.masterKeys { q.masterKeys = m }
            if let a = o.associationIndex { q.associationIndex = a }
            queues[o.apqn] = q
        }
        // ap_queue.c driver_override_store refuses an override while the masks are in use.
        if queues.driverOverrideCount > 0 && s.masksInUse {
            throw TopologyError(file: file, field: "queues", message: "driver_override needs apmask and aqmask all ones (ap_bus.c refuses it otherwise)")
        }
        // ap_scan_domains, queue by queue in APQN order: each device starts
        // with what TAPQ answers; device_add probes it; a configured queue
        // is then initialised by the AP bus whichever driver took it. Each
        // queue is made whole before it joins the table: one insertion per
        // queue, none of the per-field dictionary updates that made the boot
        // of 65,536 queues slow. (No mdev exists yet, so vfio_ap's probe,
        // vfio_ap_mdev_probe_queue, finds none to link; the changes a boot
        // records are dropped below anyway.)
        s.queues.reserveCapacity(queues.count)
        // A topology's `online` is the state recorded after the probe, so it
        // is applied after bind(to:), which makes a new zcrypt queue online.
        // Also online under an offline card: online_store refuses that write
        // (EINVAL), but a queue bound to cex4queue after the card went
        // offline is online (zcrypt_cex4_queue_probe).
        var onlineOverrides: [APQN: Bool] = [:]
        for o in t.queueOverrides { if let on = o.online { onlineOverrides[o.apqn] = on } }
        var card: (id: Int, answering: Adapter?, online: Bool) = (-1, nil, true)
        for k in queues.inOrder.indices {
            let apqn = queues.inOrder[k].apqn
            // The queues come card by card: TAPQ's adapter is looked up once a card.
            if apqn.card != card.id {
                card = (apqn.card, s.adapterAnsweringTAPQ(card: apqn.card), s.adapters[apqn.card]?.zcryptOnline ?? true)
            }
            if let adapter = card.answering, s.domainAnswersTAPQ(apqn.domain) {
                let tapq = s.tapqAnswer(adapter, queues.inOrder[k])
                queues.inOrder[k].config = !tapq.deconfigured
                queues.inOrder[k].chkstop = tapq.checkstopped
            }
            if let d = s.acceptedDriver(for: queues.inOrder[k], at: apqn) { queues.inOrder[k].bind(to: d) }
            if let on = onlineOverrides[apqn] {
                queues.inOrder[k].zcryptOnline = on
            } else if card.online == false && queues.inOrder[k].driver == .cex4queue {
                // An offline card: zcrypt_card.c online_store took its zcrypt
                // queues (those bound to cex4queue) along.
                queues.inOrder[k].zcryptOnline = false
            }
            if queues.inOrder[k].config && !queues.inOrder[k].chkstop {
                queues.inOrder[k].initialized = true
                queues.inOrder[k].resetPending = false
            }
            s.queues[apqn] = queues.inOrder[k]
        }
        // The state the AP bus left each queue in, where the topology says
        // (a recorded host): after the boot-time probe, as later unbinds do.
        for o in t.queueOverrides {
            if let i = o.initialized { s.queues[o.apqn]?.initialized = i }
            if let r = o.resetPending { s.queues[o.apqn]?.resetPending = r }
        }
        if let d = t.defaultDomain {
            // ap_domain_store wants the domain in aqmask, but an aqmask
            // write does not change ap_domain_index afterwards: a recorded
            // host may hold a domain aqmask has lost, or -1.
            guard d <= s.machine.maxDomainID else {
                throw TopologyError(file: file, field: "ap_bus.ap_domain", message: "domain \(d) is not a usable default domain: above ap_max_domain_id \(s.machine.maxDomainID)")
            }
            s.bus.defaultDomain = d
        } else if let first = t.usageDomains.first(where: { s.bus.aqmask.contains($0) }) {
            // ap_select_domain picks the first usable domain of the configuration.
            s.bus.defaultDomain = first
        }
        // mdev_register_parent when vfio_ap loads: dev_info on the matrix device.
        s.log(.info, KernelLog.deviceLine(driver: "vfio_ap", device: "matrix", "MDEV: Registered"))
        if let c = t.configTime { try? s.setConfigTime(c) }
        if let p = t.pollTimeout { try? s.setPollTimeout(p) }
        if let p = t.pollThread {
            // poll_thread_store: no poll thread while AP interrupts are in use.
            if p && s.machine.interrupts {
                throw TopologyError(file: file, field: "ap_bus.poll_thread", message: "true needs machine.interrupts false (the AP bus runs no poll thread with interrupts)")
            }
            s.setPollThread(p)
        }
        for (k, m) in t.mdevs.enumerated() {
            let path = "mdevs[\(k)]"
            if let g = m.iommuGroup, let other = s.mdevs.first(where: { $0.iommuGroup == g }) {
                throw TopologyError(file: file, field: "\(path).iommu_group", message: "iommu group \(g) is taken by mdev \(other.uuid)")
            }
            if let v = m.vfioDeviceIndex, let other = s.mdevs.first(where: { $0.vfioDeviceIndex == v }) {
                throw TopologyError(file: file, field: "\(path).vfio_device", message: "vfio\(v) is taken by mdev \(other.uuid)")
            }
            do { try s.createMdev(uuid: m.uuid, iommuGroup: m.iommuGroup, vfioDeviceIndex: m.vfioDeviceIndex) } catch {
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
        if let c = t.bindingsCompleteCount { s.bus.bindingsCompleteCount = c }
        s.changes.removeAll()
        return S390Host(name: name ?? t.name, state: s)
    }
}
