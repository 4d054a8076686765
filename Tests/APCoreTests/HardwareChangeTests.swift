import APCore
import SystemPackage
import TestSupport
import XCTest

/// Run-time changes of the machine and the AP bus scan that follows them
/// (ap_bus.c `ap_scan_bus`, vfio_ap_ops.c `vfio_ap_on_cfg_changed`,
/// `vfio_ap_on_scan_complete`).
final class HardwareChangeTests: XCTestCase {
    /// Adapters 05 (CCA) and 06 (accelerator), domains 4 and 0x47, control
    /// domains 4 and 0x47, every queue vfio_ap's, an mdev with all of them
    /// that guest g1 has open; adapter 07 is in the machine but not in the
    /// partition's configuration.
    let guestTopology = """
    name: guest
    adapters:
      - {id: 0x05, type: CEX8, mode: cca}
      - {id: 0x06, type: CEX8, mode: accel}
      - {id: 0x07, type: CEX8, mode: cca, in_configuration: false}
    usage_domains: [0x04, 0x47]
    control_domains: [0x04, 0x47]
    ap_bus: {apmask: "0x00", aqmask: "0x00"}
    mdevs:
      - {uuid: \(uuidA), adapters: [5, 6, 7], domains: [4, 0x47], control_domains: [4, 0x47]}
    """

    func guestHost() throws -> S390Host {
        let host = try makeHost(guestTopology)
        try host.update { try $0.addGuest(Guest(name: "g1")) }
        try host.update { try $0.openMdev(uuidA, guest: "g1") }
        return host
    }

    func mdev(_ s: HostState) -> MediatedDevice { s.mdevs[s.mdevIndex(uuid: uuidA)!] }

    /// The bus scan's result: the card devices and the queue devices.
    func devices(_ s: HostState, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        XCTAssertTrue(s.allQueueAPQNs.allSatisfy { s.hasCardDevice($0.card) }, "a queue device without its card", file: file, line: line)
        return s.sortedAdapterIDs.filter(s.hasCardDevice).flatMap { id in
            [KernelFormat.cardName(id)] + s.allQueueAPQNs.filter { $0.card == id }.map(\.description)
        }
    }

    func testBootStateIsWhatTheBusScanFinds() throws {
        let topologies = [
            smallTopology, guestTopology, try String(contentsOfFile: Paths.topology("hotplug.yaml"), encoding: .utf8),
            smallTopology + "\nqueues:\n  - {apqn: \"05.0004\", checkstopped: true}\n  - {apqn: \"06.0047\", configured: false}\n",
            """
            name: odd
            machine: {qci: true, facilities: []}
            adapters:
              - {id: 0x01, type: CEX7, mode: ep11, configured: false}
              - {id: 0x02, type: CEX6, mode: cca, checkstopped: true}
            usage_domains: [0x03, 0x05]
            control_domains: []
            """,
        ]
        for yaml in topologies {
            let host = try makeHost(yaml)
            let before = host.state
            let changes = Recorder(host)
            host.update { $0.rescanBus() }
            let after = host.state
            XCTAssertEqual(changes.all, [.busAttributes], "only the count: \(yaml)")
            XCTAssertEqual(after.adapters, before.adapters, yaml)
            XCTAssertEqual(after.queues, before.queues, yaml)
            XCTAssertEqual(after.mdevs, before.mdevs, yaml)
            XCTAssertEqual(after.hostConfig, before.hostConfig, yaml)
            XCTAssertFalse(after.scanPending, yaml)
            XCTAssertEqual(after.bus.scans, before.bus.scans + 1)
        }
    }

    func testAdapterLeavesAndRejoinsTheConfigurationOfARunningGuest() throws {
        let host = try guestHost()
        var s = host.state
        XCTAssertEqual(mdev(s).shadow.adapters.ids, [5, 6], "07 is not in the configuration")
        XCTAssertEqual(s.guests["g1"]?.crycb.adapters.ids, [5, 6])
        let log = s.log.entries

        try host.update { try $0.applyHardwareChange(.removeAdapter(6)) }
        s = host.state
        XCTAssertEqual(s.hostConfig.adapters.ids, [5], "ap_adapter_mask")
        XCTAssertEqual(devices(s), ["card05", "05.0004", "05.0047"])
        XCTAssertNotNil(s.adapters[6], "the machine keeps the adapter")
        XCTAssertEqual(mdev(s).matrix.adapters.ids, [5, 6, 7], "the mdev keeps its assignments")
        XCTAssertEqual(mdev(s).shadow.adapters.ids, [5])
        XCTAssertEqual(mdev(s).shadow.domains.ids, [4, 0x47])
        XCTAssertEqual(s.guests["g1"]?.crycb.adapters.ids, [5], "unplugged from the guest")
        XCTAssertEqual(s.guests["g1"]?.crycb.domains.ids, [4, 0x47])
        XCTAssertEqual(s.vfioQueueStatus(q0504), "in use")
        XCTAssertEqual(s.log.entries, log, "the kernel prints nothing")

        try host.update { try $0.applyHardwareChange(.addAdapter(6)) }
        s = host.state
        XCTAssertEqual(s.hostConfig.adapters.ids, [5, 6])
        XCTAssertEqual(devices(s), ["card05", "05.0004", "05.0047", "card06", "06.0004", "06.0047"])
        XCTAssertEqual(s.queues[q0604]?.driver, .vfioAP)
        XCTAssertEqual(s.queues[q0604]?.initialized, true, "ap_queue_init_state")
        XCTAssertEqual(s.adapters[6]?.boundToCEX4Card, true)
        XCTAssertEqual(mdev(s).shadow.adapters.ids, [5, 6], "hot plugged at the end of the scan")
        XCTAssertEqual(s.guests["g1"]?.crycb.adapters.ids, [5, 6])
        XCTAssertEqual(s.vfioQueueStatus(q0647), "in use")
        XCTAssertEqual(s.bus.bindingsCompleteCount, 2, "the new queues were bound: complete again")
        XCTAssertEqual(s.log.entries, log)
    }

    func testAnAdapterFromOutsideTheConfigurationIsPluggedIn() throws {
        let host = try guestHost()
        try host.update { try $0.applyHardwareChange(.addAdapter(7)) }
        let s = host.state
        XCTAssertEqual(devices(s).filter { $0.hasPrefix("card") }, ["card05", "card06", "card07"])
        XCTAssertEqual(s.queues[APQN(card: 7, domain: 4)]?.masterKeys, .unloadedCCA)
        XCTAssertEqual(mdev(s).shadow.adapters.ids, [5, 6, 7])
        XCTAssertEqual(s.guests["g1"]?.crycb.adapters.ids, [5, 6, 7])
    }

    func testDomainLeavesAndRejoinsTheConfigurationOfARunningGuest() throws {
        let host = try guestHost()
        try host.update { try $0.applyHardwareChange(.removeDomain(0x47)) }
        var s = host.state
        XCTAssertEqual(s.hostConfig.domains.ids, [4])
        XCTAssertEqual(devices(s), ["card05", "05.0004", "card06", "06.0004"])
        // vfio_ap_mdev_on_cfg_remove takes the domain out before the queues
        // go, so vfio_ap_mdev_remove_queue finds nothing of the guest's to
        // unplug: the adapters stay.
        XCTAssertEqual(mdev(s).shadow.adapters.ids, [5, 6])
        XCTAssertEqual(mdev(s).shadow.domains.ids, [4])
        XCTAssertEqual(s.guests["g1"]?.crycb.domains.ids, [4])
        XCTAssertEqual(s.guests["g1"]?.crycb.adapters.ids, [5, 6])
        XCTAssertEqual(mdev(s).matrix.domains.ids, [4, 0x47])

        try host.update { try $0.applyHardwareChange(.addDomain(0x47)) }
        s = host.state
        XCTAssertEqual(devices(s), ["card05", "05.0004", "05.0047", "card06", "06.0004", "06.0047"])
        XCTAssertEqual(mdev(s).shadow.domains.ids, [4, 0x47])
        XCTAssertEqual(s.guests["g1"]?.crycb.domains.ids, [4, 0x47])
        XCTAssertEqual(s.guests["g1"]?.crycb.adapters.ids, [5, 6])
    }

    func testControlDomainLeavesAndRejoins() throws {
        let host = try guestHost()
        try host.update { try $0.applyHardwareChange(.removeControlDomain(0x47)) }
        XCTAssertEqual(host.state.guests["g1"]?.crycb.controlDomains.ids, [4])
        XCTAssertEqual(host.state.hostConfig.controlDomains.ids, [4])
        try host.update { try $0.applyHardwareChange(.addControlDomain(0x47)) }
        XCTAssertEqual(host.state.guests["g1"]?.crycb.controlDomains.ids, [4, 0x47])
        XCTAssertEqual(mdev(host.state).shadow.controlDomains.ids, [4, 0x47])
    }

    func testAnMdevNoGuestHoldsFollowsTheConfigurationToo() throws {
        let host = try makeHost(guestTopology)
        try host.update { try $0.applyHardwareChange(.removeDomain(4)) }
        XCTAssertEqual(mdev(host.state).shadow.adapters.ids, [5, 6])
        XCTAssertEqual(mdev(host.state).shadow.domains.ids, [0x47])
        try host.update { try $0.applyHardwareChange(.removeAdapter(5)) }
        try host.update { try $0.applyHardwareChange(.addDomain(4)) }
        try host.update { try $0.applyHardwareChange(.addAdapter(5)) }
        XCTAssertEqual(mdev(host.state).shadow.adapters.ids, [5, 6])
        XCTAssertEqual(mdev(host.state).shadow.domains.ids, [4, 0x47])
    }

    func testAQueueDeviceComesBackWithAFreshKernelState() throws {
        let host = try makeHost(smallTopology)
        try host.update { try $0.setDriverOverride(q0547, "vfio_ap") }
        try host.update { $0.queues[q0547]?.requestCount = 7 }
        try host.update { try $0.setQueueOnline(q0504, false) }
        try host.update { try $0.applyHardwareChange(.removeDomain(0x47)) }
        XCTAssertNil(host.state.queues[q0547])
        XCTAssertEqual(host.state.bindingCounts.total, 2)
        try host.update { try $0.applyHardwareChange(.addDomain(0x47)) }
        let s = host.state
        XCTAssertNil(s.queues[q0547]?.driverOverride, "driver_override belongs to the device")
        XCTAssertEqual(s.queues[q0547]?.driver, .cex4queue)
        XCTAssertEqual(s.queues[q0547]?.requestCount, 0)
        XCTAssertEqual(s.queues[q0504]?.zcryptOnline, false, "05.0004 stayed")
    }

    func testCheckstopWhileAGuestRuns() throws {
        let host = try guestHost()
        try host.update { try $0.applyHardwareChange(.checkstopCard(5)) }
        var s = host.state
        XCTAssertEqual(s.adapters[5]?.checkstopped, true)
        XCTAssertEqual(s.adapters[5]?.configured, true)
        XCTAssertTrue(s.isCheckstopped(q0504))
        XCTAssertTrue(s.isConfigured(q0504))
        // Nothing leaves the bus: vfio_ap is not told, the guest keeps the
        // adapter and meets the checkstop itself.
        XCTAssertEqual(mdev(s).shadow.adapters.ids, [5, 6])
        XCTAssertEqual(s.guests["g1"]?.crycb.adapters.ids, [5, 6])
        XCTAssertEqual(s.vfioQueueStatus(q0504), "in use")
        // The guest stops: the queues are reset (ZAPQ answers CHECKSTOPPED,
        // which leaves them passable) and start again with the adapter.
        try host.update { $0.closeMdev(uuidA) }
        XCTAssertEqual(host.state.queues[q0504]?.resetResponseCode, 4)
        try host.update { try $0.openMdev(uuidA, guest: "g1") }
        XCTAssertEqual(host.state.guests["g1"]?.crycb.adapters.ids, [5, 6])

        try host.update { try $0.applyHardwareChange(.clearCheckstop(5)) }
        s = host.state
        XCTAssertEqual(s.adapters[5]?.checkstopped, false)
        XCTAssertFalse(s.isCheckstopped(q0504))
        XCTAssertEqual(s.queues[q0504]?.resetPending, false)
    }

    func testTheKernelSeesAChangeAtItsNextScan() throws {
        let host = try guestHost()
        try host.update { try $0.applyHardwareChange(.checkstopCard(5), scan: false) }
        try host.update { try $0.applyHardwareChange(.removeAdapter(6), scan: false) }
        var s = host.state
        XCTAssertTrue(s.scanPending)
        XCTAssertEqual(s.adapters[5]?.checkstopped, false, "chkstop reads 0 until the scan")
        XCTAssertEqual(s.hostConfig.adapters.ids, [5, 6], "ap_adapter_mask too")
        XCTAssertTrue(s.hasCardDevice(6))
        host.update { $0.rescanBus() }
        s = host.state
        XCTAssertFalse(s.scanPending)
        XCTAssertEqual(s.adapters[5]?.checkstopped, true)
        XCTAssertFalse(s.hasCardDevice(6))
        XCTAssertEqual(s.guests["g1"]?.crycb.adapters.ids, [5])
    }

    func testSCLPDeconfigureAndConfigure() throws {
        let host = try makeHost(smallTopology)
        try host.update { try $0.applyHardwareChange(.deconfigureCard(6)) }
        var s = host.state
        XCTAssertEqual(s.adapters[6]?.configured, false)
        XCTAssertFalse(s.isConfigured(q0604))
        XCTAssertFalse(s.isZcryptQueueOnline(q0604))
        XCTAssertTrue(s.hasCardDevice(6), "a deconfigured card keeps its device")
        XCTAssertEqual(s.hardware.deconfigured, [6])
        try host.update { try $0.applyHardwareChange(.configureCard(6)) }
        s = host.state
        XCTAssertEqual(s.adapters[6]?.configured, true)
        XCTAssertTrue(s.isZcryptQueueOnline(q0604))
        XCTAssertEqual(s.queues[q0604]?.resetPending, false)
    }

    func testCardConfigWriteIsAnSCLPCallAndAScan() throws {
        let host = try makeHost(smallTopology)
        try host.update { try $0.setCardConfigured(5, false) }
        XCTAssertEqual(host.state.hardware.deconfigured, [5])
        XCTAssertFalse(host.state.isConfigured(q0547))
        XCTAssertFalse(host.state.scanPending)
        // The machine configures it again behind the kernel's back: the
        // card's config write of 1 is then only the card's (no SCLP call),
        // and the scan finds nothing to change.
        try host.update { try $0.applyHardwareChange(.configureCard(5), scan: false) }
        try host.update { try $0.setCardConfigured(5, true) }
        XCTAssertTrue(host.state.isConfigured(q0547))
        XCTAssertEqual(host.state.hardware.deconfigured, [])
    }

    func testDefaultDomainIsChosenWhenTheFirstDomainArrives() throws {
        let host = try makeHost("""
            name: empty
            adapters:
              - {id: 0x05, type: CEX8, mode: cca}
            usage_domains: []
            control_domains: []
            """)
        XCTAssertEqual(host.state.bus.defaultDomain, -1)
        XCTAssertFalse(host.state.hasCardDevice(5), "no usage domain to ask: no card device")
        try host.update { try $0.applyHardwareChange(.addDomain(9)) }
        XCTAssertEqual(host.state.bus.defaultDomain, 9)
        XCTAssertEqual(devices(host.state), ["card05", "05.0009"])
        try host.update { try $0.applyHardwareChange(.removeDomain(9)) }
        XCTAssertEqual(devices(host.state), [], "the card goes with its last domain")
        XCTAssertEqual(host.state.bus.defaultDomain, 9, "ap_domain stays")
    }

    func testRefusedChangesChangeNothing() throws {
        let host = try makeHost(smallTopology)
        let before = host.state
        func refused(_ c: HardwareChange, _ message: String, line: UInt = #line) {
            XCTAssertThrowsError(try host.update { try $0.applyHardwareChange(c) }, line: line) { e in
                XCTAssertEqual((e as? HardwareChangeError)?.description, message, line: line)
            }
        }
        refused(.addAdapter(5), "adapter 05 is in the AP configuration already")
        refused(.removeAdapter(7), "adapter 07 is not in the AP configuration")
        refused(.addDomain(0x47), "usage domain 0047 is in the AP configuration already")
        refused(.removeControlDomain(0x81), "control domain 0081 is not in the AP configuration")
        refused(.addAdapter(256), "adapter 100 is past ap_max_adapter_id (255)")
        refused(.deconfigureCard(9), "the machine has no adapter 09")
        refused(.configureCard(5), "adapter 05 is configured already")
        refused(.clearCheckstop(5), "adapter 05 is not in checkstop")
        try host.update { try $0.applyHardwareChange(.checkstopCard(5), scan: false) }
        refused(.checkstopCard(5), "adapter 05 is in checkstop already")
        XCTAssertEqual(host.state.adapters, before.adapters)
        XCTAssertEqual(host.state.hostConfig, before.hostConfig)

        let noQCI = try makeHost("""
            name: noqci
            machine: {qci: false}
            adapters:
              - {id: 0x05, type: CEX8, mode: cca}
            usage_domains: [1]
            control_domains: [1]
            """)
        XCTAssertThrowsError(try noQCI.update { try $0.applyHardwareChange(.removeAdapter(5)) }) { e in
            XCTAssertEqual("\(e)", "the machine gives no QCI information: its AP configuration cannot change")
        }
        try noQCI.update { try $0.applyHardwareChange(.deconfigureCard(5)) }
        XCTAssertEqual(noQCI.state.adapters[5]?.configured, false, "SCLP works without QCI")
    }
}

/// Every change an S390Host reports, in order.
final class Recorder: @unchecked Sendable {
    private var changes: [ModelChange] = []
    private let lock = NSLock()
    init(_ host: S390Host) {
        host.observe { [weak self] c in
            guard let self else { return }
            self.lock.lock()
            self.changes += c
            self.lock.unlock()
        }
    }
    var all: [ModelChange] { lock.lock(); defer { lock.unlock() }; return changes }
}
