import APCore
import SystemPackage
import TestSupport
import XCTest

/// The host's kernel rules, driven through `S390Host.update` as the sysfs
/// stores do (kernel-sysfs.md §2, §3, §4, §9).
final class QueueBindingTests: XCTestCase {
    func testAPMaskMovesQueuesBetweenDrivers() throws {
        let host = try makeHost(smallTopology)
        var s = host.state
        XCTAssertEqual(s.bindingCounts.bound, 4)
        XCTAssertTrue(s.bindingsComplete)
        XCTAssertTrue(s.queues.values.allSatisfy { $0.driver == .cex4queue && $0.initialized })

        try host.update { try $0.setAPMask(.allBut(5)) }
        s = host.state
        XCTAssertEqual(s.queues[q0504]?.driver, .vfioAP)
        XCTAssertEqual(s.queues[q0547]?.driver, .vfioAP)
        XCTAssertEqual(s.queues[q0604]?.driver, .cex4queue)
        // ap_queue_remove leaves the queue UNINITIATED: request_count reads "-".
        XCTAssertEqual(s.queues[q0504]?.initialized, false)
        XCTAssertEqual(s.queues[q0604]?.initialized, true)
        XCTAssertEqual(s.bindingCounts.bound, 4)
        XCTAssertEqual(s.vfioQueueStatus(q0504), "unassigned")

        try host.update { try $0.setAPMask(.allOnes) }
        s = host.state
        XCTAssertEqual(s.queues[q0504]?.driver, .cex4queue)
        XCTAssertEqual(s.queues[q0504]?.initialized, true, "cex4queue probe initialises it again")
    }

    func testAQMaskMovesQueues() throws {
        let host = try makeHost(smallTopology)
        try host.update { try $0.setAQMask(.allBut(0x47)) }
        var s = host.state
        XCTAssertEqual(s.queues[q0547]?.driver, .vfioAP)
        XCTAssertEqual(s.queues[q0647]?.driver, .vfioAP)
        XCTAssertEqual(s.queues[q0504]?.driver, .cex4queue)
        XCTAssertEqual(s.queues[q0647]?.initialized, false)
        try host.update { try $0.setAQMask(.allOnes) }
        s = host.state
        XCTAssertEqual(s.queues[q0647]?.driver, .cex4queue)
        XCTAssertEqual(s.queues[q0647]?.initialized, true)
    }

    func testBootTimeMasksBindToVfioApInitialised() throws {
        let host = try makeHost(smallTopology + "\nap_bus: {apmask: \"0x02\"}\n")
        let s = host.state
        XCTAssertEqual(s.queues[q0504]?.driver, .vfioAP)
        XCTAssertEqual(s.queues[q0604]?.driver, .cex4queue)
        XCTAssertEqual(s.queues[q0504]?.initialized, true, "bound to vfio_ap at creation: the bus initialised it")
    }

    func testUnchangedMaskIsANoOp() throws {
        let host = try makeHost(smallTopology)
        let counter = Counter()
        host.observe { _ in counter.bump() }
        try host.update { try $0.setAPMask(.allOnes) }
        try host.update { try $0.setAQMask(.allOnes) }
        XCTAssertEqual(counter.value, 0)
    }

    func testDriverOverride() throws {
        let host = try makeHost(smallTopology)
        // EINVAL while the masks are not both all ones.
        try host.update { try $0.setAPMask(.allBut(7)) }
        assertErrno(.invalidArgument) { try host.update { try $0.setDriverOverride(q0504, "vfio_ap") } }
        try host.update { try $0.setAPMask(.allOnes) }
        assertErrno(.noDevice, "no such queue") { try host.update { try $0.setDriverOverride(APQN(card: 7, domain: 4), "vfio_ap") } }

        try host.update { try $0.setDriverOverride(q0504, "vfio_ap") }
        var s = host.state
        XCTAssertEqual(s.queues[q0504]?.driverOverride, "vfio_ap")
        XCTAssertEqual(s.queues[q0504]?.driver, .cex4queue, "no reprobe until the next probe")
        XCTAssertEqual(s.driverOverrideCount, 1)
        // apmask/aqmask are refused (EINVAL) while an override is set, even unchanged.
        assertErrno(.invalidArgument) { try host.update { try $0.setAPMask(.allBut(6)) } }
        assertErrno(.invalidArgument) { try host.update { try $0.setAQMask(.allOnes) } }
        XCTAssertEqual(host.state.bus.apmask, .allOnes)

        // Reprobe: only the named driver may bind.
        try host.update { try $0.unbind(driver: .cex4queue, device: "05.0004") }
        assertErrno(.noDevice) { try host.update { try $0.bind(driver: .cex4queue, device: "05.0004") } }
        try host.update { try $0.bind(driver: .vfioAP, device: "05.0004") }
        s = host.state
        XCTAssertEqual(s.queues[q0504]?.driver, .vfioAP)
        // Ownership follows the override's driver, not the masks.
        XCTAssertFalse(s.isOwnedByDefaultDriver(q0504))
        XCTAssertTrue(s.isOwnedByDefaultDriver(q0547))
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update { try $0.assign(.adapter, id: 5, to: uuidA) }
        try host.update { try $0.assign(.domain, id: 4, to: uuidA) }
        assertErrno(.addressNotAvailable) { try host.update { try $0.assign(.domain, id: 0x47, to: uuidA) } }
        s = host.state
        XCTAssertEqual(s.mdevs[0].shadow.apqns, [q0504])

        // Clearing it makes the masks writable again.
        try host.update { try $0.setDriverOverride(q0504, nil) }
        XCTAssertEqual(host.state.driverOverrideCount, 0)
        try host.update { try $0.setAPMask(.allBut(6)) }
        XCTAssertEqual(host.state.queues[q0604]?.driver, .vfioAP)
    }

    func testBindUnbindErrno() throws {
        let host = try makeHost(smallTopology)
        assertErrno(.resourceBusy, "already bound") { try host.update { try $0.bind(driver: .cex4queue, device: "05.0004") } }
        assertErrno(.resourceBusy, "bound to another driver") { try host.update { try $0.bind(driver: .vfioAP, device: "05.0004") } }
        assertErrno(.noDevice, "no such queue") { try host.update { try $0.bind(driver: .cex4queue, device: "07.0004") } }
        assertErrno(.noDevice, "not a kernel name") { try host.update { try $0.bind(driver: .cex4queue, device: "5.4") } }
        assertErrno(.noDevice, "upper case") { try host.update { try $0.bind(driver: .cex4card, device: "card0A") } }
        assertErrno(.noDevice, "card driver, queue device") { try host.update { try $0.bind(driver: .cex4card, device: "05.0004") } }
        assertErrno(.noDevice, "queue driver, card device") { try host.update { try $0.bind(driver: .vfioAP, device: "card05") } }
        assertErrno(.noDevice, "not bound to this driver") { try host.update { try $0.unbind(driver: .vfioAP, device: "05.0004") } }
        assertErrno(.noDevice) { try host.update { try $0.unbind(driver: .cex4queue, device: "07.0004") } }

        try host.update { try $0.unbind(driver: .cex4queue, device: "05.0004") }
        var s = host.state
        XCTAssertNil(s.queues[q0504]?.driver)
        XCTAssertEqual(s.queues[q0504]?.initialized, false)
        XCTAssertEqual(s.bindingCounts.bound, 3)
        XCTAssertFalse(s.bindingsComplete)
        assertErrno(.noDevice, "unbind twice") { try host.update { try $0.unbind(driver: .cex4queue, device: "05.0004") } }
        assertErrno(.noDevice, "the masks reserve it for the default driver") {
            try host.update { try $0.bind(driver: .vfioAP, device: "05.0004") }
        }
        let before = host.state.bus.bindingsCompleteCount
        try host.update { try $0.bind(driver: .cex4queue, device: "05.0004") }
        s = host.state
        XCTAssertEqual(s.queues[q0504]?.driver, .cex4queue)
        XCTAssertTrue(s.bindingsComplete)
        XCTAssertEqual(s.bus.bindingsCompleteCount, before + 1, "bindings complete again")

        // drivers_probe binds an unbound device to the driver the probe accepts.
        try host.update { try $0.unbind(driver: .cex4queue, device: "06.0047") }
        try host.update { try $0.probeDevice(named: "06.0047") }
        XCTAssertEqual(host.state.queues[q0647]?.driver, .cex4queue)
        assertErrno(.noDevice) { try host.update { try $0.probeDevice(named: "card07") } }
        assertErrno(.noDevice) { try host.update { try $0.probeDevice(named: "bogus") } }

        // Cards.
        assertErrno(.resourceBusy) { try host.update { try $0.bind(driver: .cex4card, device: "card05") } }
        try host.update { try $0.unbind(driver: .cex4card, device: "card05") }
        XCTAssertEqual(host.state.adapters[5]?.boundToCEX4Card, false)
        assertErrno(.noDevice) { try host.update { try $0.unbind(driver: .cex4card, device: "card05") } }
        try host.update { try $0.bind(driver: .cex4card, device: "card05") }
        XCTAssertEqual(host.state.adapters[5]?.boundToCEX4Card, true)
        assertErrno(.noDevice) { try host.update { try $0.bind(driver: .cex4card, device: "card07") } }
    }

    func testDeviceNames() throws {
        let s = try makeHost(smallTopology).state
        XCTAssertEqual(s.parseDeviceName("card05"), .card(5))
        XCTAssertEqual(s.parseDeviceName("05.0047"), .queue(q0547))
        XCTAssertNil(s.parseDeviceName("card5"))
        XCTAssertNil(s.parseDeviceName("05.047"))
        XCTAssertNil(s.parseDeviceName("05.0100"))
        XCTAssertNil(s.parseDeviceName("05.00AB"))
    }
}

final class MatrixAssignmentTests: XCTestCase {
    /// The small host with adapters 5, 6 and domains 4, 0x47 all given to vfio_ap.
    func vfioHost(_ extra: String = "") throws -> S390Host {
        try makeHost(smallTopology + "\nap_bus: {apmask: \"0x00\", aqmask: \"0x00\"}\n" + extra)
    }

    func testOwnership() throws {
        let host = try makeHost(smallTopology)
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update { try $0.assign(.adapter, id: 5, to: uuidA) }
        assertErrno(.addressNotAvailable) { try host.update { try $0.assign(.domain, id: 4, to: uuidA) } }
        var m = host.state.mdevs[0].matrix
        XCTAssertEqual(m.adapters, APMask(ids: [5]))
        XCTAssertEqual(m.domains, APMask(), "the refused bit is cleared again")

        // Over-provisioned APQNs not in the host configuration are owned too
        // while apmask x aqmask reserves them.
        try host.update { try $0.setAPMask(.allBut(5, 6)) }
        try host.update { try $0.setAQMask(.allBut(4)) }
        try host.update { try $0.assign(.domain, id: 4, to: uuidA) }
        try host.update { try $0.assign(.adapter, id: 0x10, to: uuidA) }
        assertErrno(.addressNotAvailable, "10.0047 reserved though no such adapter") {
            try host.update { try $0.assign(.domain, id: 0x47, to: uuidA) }
        }
        m = host.state.mdevs[0].matrix
        XCTAssertEqual(m.adapters, APMask(ids: [5, 0x10]))
        XCTAssertEqual(m.domains, APMask(ids: [4]))
        // Unknown mdev.
        assertErrno(.noDevice) { try host.update { try $0.assign(.adapter, id: 1, to: uuidB) } }
    }

    func testSharing() throws {
        let host = try vfioHost()
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update { try $0.createMdev(uuid: uuidB) }
        try host.update { try $0.assign(.adapter, id: 5, to: uuidA) }
        try host.update { try $0.assign(.domain, id: 4, to: uuidA) }
        try host.update { try $0.assign(.adapter, id: 5, to: uuidB) }
        let logBefore = host.state.log.entries.count
        assertErrno(.addressInUse) { try host.update { try $0.assign(.domain, id: 4, to: uuidB) } }
        let lines = host.state.log.entries.dropFirst(logBefore)
        XCTAssertEqual(lines.map(\.text), [
            "vfio_ap_mdev \(uuidB): Userspace may not assign queue 05.0004 to mdev: already assigned to \(uuidA)",
        ])
        XCTAssertEqual(lines.first?.level, .warning)
        XCTAssertEqual(host.state.mdevs[1].matrix.domains, APMask())
        // Control domains may be shared.
        try host.update { try $0.assign(.controlDomain, id: 4, to: uuidA) }
        try host.update { try $0.assign(.controlDomain, id: 4, to: uuidB) }
        // Other domains are fine.
        try host.update { try $0.assign(.domain, id: 0x47, to: uuidB) }
        XCTAssertEqual(host.state.vfioQueueStatus(q0547), "assigned")
    }

    func testSharingLogsOneLinePerAPQN() throws {
        let host = try vfioHost()
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update { try $0.createMdev(uuid: uuidB) }
        try host.update { try $0.setAPConfig(APMatrix(adapters: APMask(ids: [5, 6]), domains: APMask(ids: [4, 0x47])), of: uuidA) }
        let before = host.state.log.entries.count
        assertErrno(.addressInUse) {
            try host.update { try $0.setAPConfig(APMatrix(adapters: APMask(ids: [5, 6, 7]), domains: APMask(ids: [4, 9])), of: uuidB) }
        }
        XCTAssertEqual(host.state.log.entries.dropFirst(before).map(\.text), [
            "vfio_ap_mdev \(uuidB): Userspace may not assign queue 05.0004 to mdev: already assigned to \(uuidA)",
            "vfio_ap_mdev \(uuidB): Userspace may not assign queue 06.0004 to mdev: already assigned to \(uuidA)",
        ])
        XCTAssertEqual(host.state.mdevs[1].matrix, APMatrix(), "a refused ap_config changes nothing")
        XCTAssertTrue(host.dmesg().contains("] vfio_ap_mdev \(uuidB): Userspace may not assign queue 06.0004"))
    }

    func testAPMaskInUseRule() throws {
        let host = try vfioHost()
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update { try $0.createMdev(uuid: uuidB) }
        try host.update { try $0.setAPConfig(APMatrix(adapters: APMask(ids: [5]), domains: APMask(ids: [4, 0x47])), of: uuidA) }
        // B has an adapter but no domains: it never blocks.
        try host.update { try $0.assign(.adapter, id: 6, to: uuidB) }

        let before = host.state.log.entries.count
        assertErrno(.resourceBusy) { try host.update { try $0.setAPMask(APMask(ids: [5, 6])) } }
        XCTAssertEqual(host.state.log.entries.dropFirst(before).map(\.text), [
            "vfio_ap_mdev \(uuidA): Can not reserve queue 05.0004 for host driver: in use by mdev",
            "vfio_ap_mdev \(uuidA): Can not reserve queue 05.0047 for host driver: in use by mdev",
        ])
        XCTAssertEqual(host.state.bus.apmask, APMask(), "refused: unchanged")
        XCTAssertEqual(host.state.queues[q0504]?.driver, .vfioAP)

        // Adapter 6 belongs to B, which has no domains: allowed.
        try host.update { try $0.setAPMask(APMask(ids: [6])) }
        XCTAssertEqual(host.state.bus.apmask, APMask(ids: [6]))
        XCTAssertEqual(host.state.queues[q0604]?.driver, .vfioAP, "aqmask reserves no domain")
        // Clearing bits is never refused.
        try host.update { try $0.setAPMask(APMask()) }

        // aqmask: a domain of A's with A having adapters.
        let before2 = host.state.log.entries.count
        assertErrno(.resourceBusy) { try host.update { try $0.setAQMask(APMask(ids: [0x47, 0x80])) } }
        XCTAssertEqual(host.state.log.entries.dropFirst(before2).map(\.text), [
            "vfio_ap_mdev \(uuidA): Can not reserve queue 05.0047 for host driver: in use by mdev",
        ])
        try host.update { try $0.setAQMask(APMask(ids: [0x80])) }
        XCTAssertEqual(host.state.bus.aqmask, APMask(ids: [0x80]))
    }

    func testRangeENODEV() throws {
        let host = try makeHost("""
        machine: {ap_max_adapter_id: 63, ap_max_domain_id: 15}
        adapters:
          - {id: 5, type: CEX8}
        usage_domains: [4]
        ap_bus: {apmask: "0x00", aqmask: "0x00"}
        """)
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update { try $0.assign(.adapter, id: 63, to: uuidA) }
        assertErrno(.noDevice) { try host.update { try $0.assign(.adapter, id: 64, to: uuidA) } }
        try host.update { try $0.assign(.domain, id: 15, to: uuidA) }
        assertErrno(.noDevice) { try host.update { try $0.assign(.domain, id: 16, to: uuidA) } }
        assertErrno(.noDevice) { try host.update { try $0.assign(.controlDomain, id: 16, to: uuidA) } }
        assertErrno(.noDevice) { try host.update { try $0.unassign(.adapter, id: 64, from: uuidA) } }
        assertErrno(.noDevice) { try host.update { try $0.unassign(.domain, id: UInt64.max, from: uuidA) } }
        assertErrno(.noDevice) { try host.update { try $0.unassign(.controlDomain, id: 16, from: uuidA) } }
        // ap_config: a bit above the maximum, after ownership and sharing.
        assertErrno(.noDevice) {
            try host.update { try $0.setAPConfig(APMatrix(adapters: APMask(ids: [64]), domains: APMask(ids: [4])), of: uuidA) }
        }
        assertErrno(.noDevice) {
            try host.update { try $0.setAPConfig(APMatrix(controlDomains: APMask(ids: [16])), of: uuidA) }
        }
        let m = host.state.mdevs[0].matrix
        XCTAssertEqual(m, APMatrix(adapters: APMask(ids: [63]), domains: APMask(ids: [15])), "refused writes change nothing")

        let wide = try makeHost(smallTopology)
        try wide.update { try $0.createMdev(uuid: uuidA) }
        try wide.update { try $0.assign(.controlDomain, id: 255, to: uuidA) }
        assertErrno(.noDevice) { try wide.update { try $0.assign(.controlDomain, id: 256, to: uuidA) } }
    }

    func testNoOpAssignAndUnassign() throws {
        let host = try vfioHost()
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update { try $0.assign(.adapter, id: 5, to: uuidA) }
        try host.update { try $0.assign(.domain, id: 4, to: uuidA) }
        try host.update { try $0.assign(.controlDomain, id: 4, to: uuidA) }
        let counter = Counter()
        host.observe { _ in counter.bump() }
        let before = host.state.mdevs
        try host.update { try $0.assign(.adapter, id: 5, to: uuidA) }
        try host.update { try $0.assign(.domain, id: 4, to: uuidA) }
        try host.update { try $0.assign(.controlDomain, id: 4, to: uuidA) }
        try host.update { try $0.unassign(.adapter, id: 9, from: uuidA) }
        try host.update { try $0.unassign(.domain, id: 9, from: uuidA) }
        try host.update { try $0.unassign(.controlDomain, id: 9, from: uuidA) }
        XCTAssertEqual(host.state.mdevs, before)
        XCTAssertEqual(counter.value, 0, "no change recorded")

        try host.update { try $0.unassign(.adapter, id: 5, from: uuidA) }
        XCTAssertEqual(host.state.mdevs[0].matrix.adapters, APMask())
        XCTAssertEqual(host.state.mdevs[0].shadow.adapters, APMask())
        XCTAssertEqual(host.state.vfioQueueStatus(q0504), "unassigned")
    }

    func testGuestMatrixFilter() throws {
        let host = try vfioHost()
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update {
            try $0.setAPConfig(APMatrix(adapters: APMask(ids: [5, 6, 7]), domains: APMask(ids: [4, 0x47, 0x99]),
                                        controlDomains: APMask(ids: [4, 0x80, 0x90])), of: uuidA)
        }
        var m = host.state.mdevs[0]
        XCTAssertEqual(m.matrix.queueCount, 9)
        // Adapter 7 and domain 0x99 are not in the host configuration.
        XCTAssertEqual(m.shadow.adapters, APMask(ids: [5, 6]))
        XCTAssertEqual(m.shadow.domains, APMask(ids: [4, 0x47]))
        // Control domains: ADM ∩ host ADM.
        XCTAssertEqual(m.shadow.controlDomains, APMask(ids: [4, 0x80]))

        // One queue of adapter 5 leaves vfio_ap: the whole adapter goes.
        try host.update { try $0.unbind(driver: .vfioAP, device: "05.0047") }
        m = host.state.mdevs[0]
        XCTAssertEqual(m.shadow.adapters, APMask(ids: [6]))
        XCTAssertEqual(m.shadow.domains, APMask(ids: [4, 0x47]), "domains are never filtered for this")
        try host.update { try $0.bind(driver: .vfioAP, device: "05.0047") }
        XCTAssertEqual(host.state.mdevs[0].shadow.adapters, APMask(ids: [5, 6]), "probe re-filters: hot plug")

        // A filtered adapter: unbound queue, then assign: adapter not in the guest.
        try host.update { try $0.unassign(.adapter, id: 6, from: uuidA) }
        try host.update { try $0.unbind(driver: .vfioAP, device: "06.0004") }
        try host.update { try $0.assign(.adapter, id: 6, to: uuidA) }
        XCTAssertEqual(host.state.mdevs[0].shadow.adapters, APMask(ids: [5]))
        XCTAssertEqual(host.state.mdevs[0].matrix.adapters, APMask(ids: [5, 6, 7]))

        // Unassigning a control domain clears it from the shadow.
        try host.update { try $0.unassign(.controlDomain, id: 0x80, from: uuidA) }
        XCTAssertEqual(host.state.mdevs[0].shadow.controlDomains, APMask(ids: [4]))
        // Unassigning a domain takes it out of the guest matrix.
        try host.update { try $0.unassign(.domain, id: 0x47, from: uuidA) }
        XCTAssertEqual(host.state.mdevs[0].shadow.domains, APMask(ids: [4]))
    }

    func testAPConfigAtomicity() throws {
        let host = try makeHost(smallTopology + "\nap_bus: {apmask: \"0x04\", aqmask: \"0x00\"}\n")
        // apmask 0x04 = adapter 5 only, aqmask empty: nothing reserved.
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update { try $0.createMdev(uuid: uuidB) }
        let good = APMatrix(adapters: APMask(ids: [6]), domains: APMask(ids: [4]), controlDomains: APMask(ids: [4]))
        try host.update { try $0.setAPConfig(good, of: uuidA) }
        try host.update { try $0.setAQMask(APMask(ids: [0x47])) } // reserves 05.0047
        let before = host.state.mdevs

        // Ownership: 05.0047 is reserved.
        assertErrno(.addressNotAvailable) {
            try host.update { try $0.setAPConfig(APMatrix(adapters: APMask(ids: [5]), domains: APMask(ids: [4, 0x47])), of: uuidA) }
        }
        // Sharing with B's... B is empty; make A's config collide with itself is fine, B collides with A.
        assertErrno(.addressInUse) {
            try host.update { try $0.setAPConfig(APMatrix(adapters: APMask(ids: [6]), domains: APMask(ids: [4])), of: uuidB) }
        }
        XCTAssertEqual(host.state.mdevs, before, "refused writes change nothing")

        // A successful ap_config replaces all three masks and hot unplugs what went.
        try host.update {
            try $0.setAPConfig(APMatrix(adapters: APMask(ids: [6]), domains: APMask(ids: [0x47]), controlDomains: APMask()), of: uuidA)
        }
        let m = host.state.mdevs[0]
        XCTAssertEqual(m.matrix, APMatrix(adapters: APMask(ids: [6]), domains: APMask(ids: [0x47])))
        XCTAssertEqual(m.shadow, APMatrix(adapters: APMask(ids: [6]), domains: APMask(ids: [0x47])))
        XCTAssertEqual(host.state.vfioQueueStatus(q0604), "unassigned")
        XCTAssertEqual(host.state.vfioQueueStatus(q0647), "assigned")
    }
}

final class MdevLifecycleTests: XCTestCase {
    func testCreateRemove() throws {
        let host = try makeHost(smallTopology + "\nap_bus: {apmask: \"0x00\", aqmask: \"0x00\"}\n")
        try host.update { $0.maxMdevs = 3 }
        XCTAssertEqual(host.state.availableInstances, 3)
        try host.update { try $0.createMdev(uuid: uuidA) }
        try host.update { try $0.createMdev(uuid: uuidB.uppercased()) }
        XCTAssertEqual(host.state.mdevs.map(\.uuid), [uuidA, uuidB], "named in lower case")
        XCTAssertEqual(host.state.mdevs.map(\.iommuGroup), [0, 1])
        XCTAssertEqual(host.state.availableInstances, 1)
        assertErrno(.fileExists) { try host.update { try $0.createMdev(uuid: uuidA) } }
        assertErrno(.fileExists, "compared by value") { try host.update { try $0.createMdev(uuid: uuidB) } }
        try host.update { try $0.createMdev(uuid: uuidC) }
        XCTAssertEqual(host.state.availableInstances, 0)
        assertErrno(.tooManyUsers) { try host.update { try $0.createMdev(uuid: "00000000-0000-0000-0000-000000000000") } }
        assertErrno(.fileExists, "EEXIST before EUSERS") { try host.update { try $0.createMdev(uuid: uuidC) } }

        // Remove the middle one: its iommu group is the lowest free id again.
        try host.update { try $0.assign(.adapter, id: 5, to: uuidB) }
        try host.update { try $0.assign(.domain, id: 4, to: uuidB) }
        XCTAssertEqual(host.state.vfioQueueStatus(q0504), "assigned")
        try host.update { try $0.removeMdev(uuid: uuidB) }
        XCTAssertEqual(host.state.mdevs.map(\.uuid), [uuidA, uuidC])
        XCTAssertEqual(host.state.availableInstances, 1)
        XCTAssertEqual(host.state.queues[q0504]?.driver, .vfioAP, "queues stay bound to vfio_ap")
        XCTAssertEqual(host.state.vfioQueueStatus(q0504), "unassigned")
        assertErrno(.noDevice) { try host.update { try $0.removeMdev(uuid: uuidB) } }
        let d = "dddddddd-0000-0000-0000-000000000000"
        try host.update { try $0.createMdev(uuid: d) }
        XCTAssertEqual(host.state.mdevs.last?.iommuGroup, 1)
        XCTAssertEqual(host.state.mdevs.last?.vfioDeviceIndex, 1)
        XCTAssertTrue(host.dmesg().contains("vfio_ap_mdev \(d): Adding to iommu group 1\n"))
        XCTAssertTrue(host.dmesg().contains("vfio_ap_mdev \(uuidB): Removing from iommu group 1\n"))
    }
}

final class CardAndQueueControlTests: XCTestCase {
    func testCardConfigAndOnline() throws {
        let host = try makeHost(smallTopology)
        assertErrno(.noDevice) { try host.update { try $0.setCardConfigured(7, false) } }
        try host.update { try $0.setCardConfigured(5, false) }
        var s = host.state
        XCTAssertFalse(s.isConfigured(q0504))
        XCTAssertFalse(s.isConfigured(q0547))
        XCTAssertTrue(s.isConfigured(q0604))
        assertErrno(.noDevice, "online while deconfigured") { try host.update { try $0.setCardOnline(5, true) } }
        try host.update { try $0.setCardOnline(5, false) }
        XCTAssertEqual(host.state.queues[q0504]?.zcryptOnline, false, "propagates to the queues")
        assertErrno(.noDevice, "queue online while its card is deconfigured") { try host.update { try $0.setQueueOnline(q0504, true) } }
        try host.update { try $0.setQueueOnline(q0504, false) }

        try host.update { try $0.setCardConfigured(5, true) }
        s = host.state
        XCTAssertTrue(s.isConfigured(q0504))
        assertErrno(.invalidArgument, "queue online while the card is offline") { try host.update { try $0.setQueueOnline(q0504, true) } }
        try host.update { try $0.setCardOnline(5, true) }
        XCTAssertEqual(host.state.queues[q0547]?.zcryptOnline, true)
        try host.update { try $0.setQueueOnline(q0504, false) }
        try host.update { try $0.setQueueOnline(q0504, true) }
        XCTAssertEqual(host.state.queues[q0504]?.zcryptOnline, true)
        assertErrno(.noDevice) { try host.update { try $0.setQueueOnline(APQN(card: 5, domain: 9), true) } }
        assertErrno(.noDevice) { try host.update { try $0.setCardOnline(9, true) } }
    }

    /// zcrypt_cex4_queue_probe and zcrypt_cex4_card_probe register a new
    /// zcrypt device, online by default, on every probe: an offline queue
    /// taken to vfio_ap and back, or an offline card bound again, is online.
    /// A topology's `online: false` is the recorded state at boot, kept.
    func testAReprobedQueueOrCardIsOnline() throws {
        let host = try makeHost(smallTopology + """

        queues:
          - {apqn: "06.0004", online: false}
        """)
        XCTAssertEqual(host.state.queues[q0604]?.zcryptOnline, false, "the topology's state at boot")
        try host.update { try $0.setQueueOnline(q0504, false) }
        try host.update { try $0.setAPMask(.allBut(5)) }
        XCTAssertEqual(host.state.queues[q0504]?.driver, .vfioAP)
        XCTAssertEqual(host.state.queues[q0504]?.zcryptOnline, false, "vfio_ap has no zcrypt queue to renew")
        try host.update { try $0.setAPMask(.allOnes) }
        XCTAssertEqual(host.state.queues[q0504]?.driver, .cex4queue)
        XCTAssertEqual(host.state.queues[q0504]?.zcryptOnline, true, "a new zcrypt queue")
        XCTAssertEqual(host.state.queues[q0604]?.zcryptOnline, false, "a queue not probed again keeps its state")
        try host.update { try $0.unbind(driver: .cex4queue, device: "06.0004") }
        try host.update { try $0.bind(driver: .cex4queue, device: "06.0004") }
        XCTAssertEqual(host.state.queues[q0604]?.zcryptOnline, true)

        try host.update { try $0.setCardOnline(5, false) }
        try host.update { try $0.unbind(driver: .cex4card, device: "card05") }
        try host.update { try $0.bind(driver: .cex4card, device: "card05") }
        XCTAssertEqual(host.state.adapters[5]?.zcryptOnline, true, "a new zcrypt card")
        XCTAssertEqual(host.state.queues[q0504]?.zcryptOnline, false, "its queues keep their zcrypt queues")
        try host.update { try $0.setCardOnline(6, false) }
        try host.update { try $0.unbind(driver: .cex4card, device: "card06") }
        try host.update { try $0.probeDevice(named: "card06") }
        XCTAssertEqual(host.state.adapters[6]?.zcryptOnline, true, "drivers_probe probes it too")
    }

    func testCheckstoppedQueue() throws {
        let host = try makeHost(smallTopology + """

        queues:
          - {apqn: "05.0004", checkstopped: true}
        """)
        let s = host.state
        XCTAssertTrue(s.isCheckstopped(q0504))
        // zcrypt_cex4_queue_probe initialises every queue it binds; the
        // reset then meets the checkstop and stays pending.
        XCTAssertEqual(s.queues[q0504]?.driver, .cex4queue)
        XCTAssertEqual(s.queues[q0504]?.initialized, true)
        XCTAssertEqual(s.queues[q0504]?.resetPending, true)
        assertErrno(.noDevice) { try host.update { try $0.setQueueOnline(q0504, true) } }
    }

    func testBusSettings() throws {
        let host = try makeHost(smallTopology)
        try host.update { try $0.setDefaultDomain(0x47) }
        XCTAssertEqual(host.state.bus.defaultDomain, 0x47)
        assertErrno(.invalidArgument) { try host.update { try $0.setDefaultDomain(256) } }
        assertErrno(.invalidArgument) { try host.update { try $0.setDefaultDomain(-1) } }
        try host.update { try $0.setAQMask(.allBut(9)) }
        assertErrno(.invalidArgument, "not in aqmask") { try host.update { try $0.setDefaultDomain(9) } }
        try host.update { try $0.setConfigTime(5) }
        try host.update { try $0.setConfigTime(120) }
        assertErrno(.invalidArgument) { try host.update { try $0.setConfigTime(4) } }
        assertErrno(.invalidArgument) { try host.update { try $0.setConfigTime(121) } }
        try host.update { try $0.setPollTimeout(120_000_000_000) }
        assertErrno(.invalidArgument) { try host.update { try $0.setPollTimeout(120_000_000_001) } }
        host.update { $0.setPollThread(true) }
        XCTAssertFalse(host.state.bus.pollThread, "does nothing while AP interrupts are used")
    }
}

/// A thread-safe counter for observers.
final class Counter: @unchecked Sendable {
    private var n = 0
    private let lock = NSLock()
    func bump() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

import Foundation
