import APCore
import Foundation
import XCTest

final class TopologyTests: XCTestCase {
    func testEmbeddedDefault() throws {
        let t = try DefaultTopology.load()
        XCTAssertEqual(t.name, "s390-vfio-ap-example")
        XCTAssertEqual(t.adapters.map(\.id), [5, 6])
        XCTAssertEqual(t.usageDomains, [4, 0x47, 0xab, 0xff])
        XCTAssertEqual(t.controlDomains, [4, 0x47, 0xab, 0xff])
        XCTAssertEqual(t.apmask, .allOnes)
        XCTAssertEqual(t.aqmask, .allOnes)
        XCTAssertEqual(t.vfioFeatures, ["guest_matrix", "hotplug", "ap_config", "migratable"])
        XCTAssertEqual(t.machine.busFeatures, ["APSC", "APXA", "QACT", "RC8A"])
        XCTAssertEqual(t.machine.maxAdapterID, 255)
        XCTAssertEqual(t.machine.maxDomainID, 255)
        let card5 = t.adapters[0].hardwareInfo
        XCTAssertEqual(card5.apType, 11)
        XCTAssertEqual(card5.mode, .cca)
        XCTAssertEqual(card5.facilities, 0xF280_0000)
        XCTAssertEqual(card5.queueDepth, 7)
        XCTAssertEqual(t.adapters[0].serialNumber, "93AADFK7")
        let card6 = t.adapters[1].hardwareInfo
        XCTAssertEqual(card6.mode, .accelerator)
        XCTAssertEqual(card6.facilities, 0xEA80_0000)

        let host = try HostBuilder.build(t, file: DefaultTopology.fileName)
        let s = host.state
        XCTAssertEqual(s.allQueueAPQNs.count, 8)
        XCTAssertTrue(s.queues.values.allSatisfy { $0.driver == .cex4queue && $0.initialized })
        XCTAssertEqual(s.bindingCounts.bound, 8)
        XCTAssertEqual(s.bindingCounts.total, 8)
        XCTAssertTrue(s.bindingsComplete)
        XCTAssertEqual(s.bus.defaultDomain, 4, "ap_select_domain: the first usable domain")
        XCTAssertEqual(s.mdevs, [])
        XCTAssertEqual(s.availableInstances, 65_536)
    }

    /// Every demo topology shipped in the repository decodes and boots.
    func testDemoTopologies() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("demo/topologies")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.sorted()
        for f in files {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            do {
                let t = try TopologyDecoder(file: f).decode(text)
                let host = try HostBuilder.build(t, file: f)
                XCTAssertFalse(host.state.adapters.isEmpty, f)
            } catch {
                XCTFail("\(f): \(error)")
            }
        }
    }

    func testInlineFeatures() throws {
        let t = try TopologyDecoder(file: "x.yaml").decode("""
        name: x
        machine:
          qci: true
          facilities: [apsc, APXA, qact]
          ap_max_adapter_id: 63
          ap_max_domain_id: 0x0f
        adapters:
          - {id: 1, raw_type: 15, mode: ep11, facilities: [SLCF], classification: stateless, depth: 3, max_msg_size: 8192}
          - {id: 2, hwinfo: "0xF28000000E0F0007"}
        usage_domains: ["0-3", 0x0f]
        ap_bus:
          apmask: "0x20"
          ap_domain: 2
        queues:
          - {apqn: "02.0003", configured: false}
        mdevs:
          - {uuid: 62177883-F1BB-47F0-914D-32A22E3A8804, adapters: [0x01], domains: [0, 1]}
        """)
        XCTAssertEqual(t.usageDomains, [0, 1, 2, 3, 15])
        XCTAssertEqual(t.controlDomains, t.usageDomains, "control domains default to the usage domains")
        XCTAssertEqual(t.machine.busFeatures, ["APSC", "APXA", "QACT"])
        XCTAssertEqual(t.machine.maxAdapterID, 63)
        XCTAssertEqual(t.machine.maxDomainID, 15)
        let a1 = t.adapters[0].hardwareInfo
        XCTAssertEqual(a1.apType, 15)
        XCTAssertEqual(a1.mode, .ep11)
        XCTAssertTrue(a1.slcf)
        XCTAssertEqual(a1.classification, 0x40)
        XCTAssertEqual(a1.queueDepth, 3)
        XCTAssertEqual(a1.messageLengthUnits, 2)
        XCTAssertEqual(a1.domainCount, 15)
        XCTAssertEqual(t.adapters[1].hardwareInfo.value, 0xF280_0000_0E0F_0007)
        XCTAssertEqual(t.apmask, APMask(ids: [2]))
        XCTAssertEqual(t.mdevs[0].uuid, "62177883-f1bb-47f0-914d-32a22e3a8804")

        let host = try HostBuilder.build(t, file: "x.yaml")
        let s = host.state
        XCTAssertEqual(s.deviceType(ofCard: 1), 14, "raw type 15 maps to CEX8 with QACT")
        XCTAssertEqual(s.bus.defaultDomain, 2)
        XCTAssertFalse(s.isConfigured(APQN(card: 2, domain: 3)))
        XCTAssertEqual(s.queues[APQN(card: 1, domain: 0)]?.driver, .vfioAP)
        XCTAssertEqual(s.queues[APQN(card: 2, domain: 0)]?.driver, .cex4queue)
        XCTAssertEqual(s.mdevs[0].matrix.apqns.map(\.description), ["01.0000", "01.0001"])
        XCTAssertEqual(s.mdevs[0].shadow.apqns.map(\.description), ["01.0000", "01.0001"])
    }

    /// The fields a recording needs (scripts/record-topology.sh): the state
    /// the AP bus left each queue in, zcrypt's online switches, the mdevs'
    /// iommu groups and VFIO indexes, and bus settings a running host changed.
    func testRecordedHostState() throws {
        let t = try TopologyDecoder(file: "rec.yaml").decode("""
        name: rec
        machine: {facilities: [APSC, APXA, QACT, RC8A], interrupts: false}
        adapters:
          - {id: 5, type: CEX5, mode: cca}
          - {id: 6, type: CEX5, mode: accel, online: false}
          - {id: 7, hwinfo: "0x0000000000000000"}
        usage_domains: [4, 0x10, 0xab]
        queues:
          - {apqn: "05.0004", dev_state: uninitiated}
          - {apqn: "06.0010", online: true}
          - {apqn: "05.00ab", online: false, reset_pending: true, association_index: 0x4711}
        ap_bus:
          apmask: "0xfb"
          aqmask: "0xf7\(String(repeating: "f", count: 62))"
          ap_domain: 4
          config_time: 60
          poll_timeout: 1500000
          poll_thread: true
          bindings_complete_count: 7
        mdevs:
          - {uuid: \(uuidA), adapters: [5], domains: [4], iommu_group: 3, vfio_device: 2}
          - {uuid: \(uuidB)}
        """)
        XCTAssertEqual(t.queueOverrides[0].initialized, false)
        XCTAssertEqual(t.adapters[1].online, false)
        XCTAssertNil(t.adapters[0].online, "absent: the topology's digest does not change")
        let s = try HostBuilder.build(t, file: "rec.yaml").state
        // 05.0004 is vfio_ap's (apmask lacks 5) and was unbound since boot.
        XCTAssertEqual(s.queues[APQN(card: 5, domain: 4)]?.driver, .vfioAP)
        XCTAssertEqual(s.queues[APQN(card: 5, domain: 4)]?.initialized, false)
        XCTAssertEqual(s.queues[APQN(card: 5, domain: 0xab)]?.resetPending, true)
        XCTAssertEqual(s.queues[APQN(card: 5, domain: 0xab)]?.zcryptOnline, false)
        XCTAssertEqual(s.queues[APQN(card: 5, domain: 0xab)]?.associationIndex, 0x4711)
        XCTAssertEqual(s.adapters[6]?.zcryptOnline, false)
        XCTAssertEqual(s.queues[APQN(card: 6, domain: 0xab)]?.zcryptOnline, false, "online_store takes the card's zcrypt queues along")
        XCTAssertEqual(s.queues[APQN(card: 6, domain: 4)]?.driver, .vfioAP)
        XCTAssertEqual(s.queues[APQN(card: 6, domain: 4)]?.zcryptOnline, true, "a vfio_ap queue has no zcrypt queue to take along")
        XCTAssertEqual(s.queues[APQN(card: 6, domain: 0x10)]?.zcryptOnline, true, "bound to cex4queue after the card went offline")
        XCTAssertFalse(s.hasCardDevice(7), "in the configuration, but TAPQ gives no info: no card device")
        XCTAssertTrue(s.hostConfig.adapters.contains(7))
        XCTAssertEqual(s.bus.defaultDomain, 4, "kept although aqmask lost it, as an aqmask write leaves ap_domain")
        XCTAssertEqual(s.bus.configTime, 60)
        XCTAssertEqual(s.bus.pollTimeout, 1_500_000)
        XCTAssertTrue(s.bus.pollThread)
        XCTAssertEqual(s.bus.bindingsCompleteCount, 7)
        XCTAssertEqual(s.mdevs.map(\.iommuGroup), [3, 0])
        XCTAssertEqual(s.mdevs.map(\.vfioDeviceIndex), [2, 0])

        let none = try TopologyDecoder(file: "x.yaml").decode("usage_domains: [1]\nap_bus: {ap_domain: -1}\n")
        XCTAssertEqual(try HostBuilder.build(none, file: "x.yaml").state.bus.defaultDomain, -1)
    }

    // MARK: - Rejected topologies: file, field and value named

    func rejected(_ yaml: String, field: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            let t = try TopologyDecoder(file: "bad.yaml").decode(yaml)
            _ = try HostBuilder.build(t, file: "bad.yaml")
            XCTFail("accepted", file: file, line: line)
        } catch let e as TopologyError {
            XCTAssertEqual(e.file, "bad.yaml", file: file, line: line)
            XCTAssertEqual(e.field, field, e.description, file: file, line: line)
            for m in mentions { XCTAssertTrue(e.description.contains(m), "'\(m)' not in: \(e.description)", file: file, line: line) }
            XCTAssertTrue(e.description.hasPrefix("topology bad.yaml: \(field)"), e.description, file: file, line: line)
        } catch {
            XCTFail("not a TopologyError: \(error)", file: file, line: line)
        }
    }

    func testUnknownAPType() {
        rejected("""
        adapters:
          - {id: 1, type: CEX8}
          - {id: 2, type: CEX9}
        """, field: "adapters[1].type", mentions: ["CEX9"])
    }

    func testAdapterAboveMaxID() {
        rejected("""
        machine: {ap_max_adapter_id: 63}
        adapters:
          - {id: 64, type: CEX8}
        """, field: "adapters[0].id", mentions: ["0x40", "63"])
        rejected("""
        adapters:
          - {id: 256, type: CEX8}
        """, field: "adapters[0].id", mentions: ["256"])
    }

    func testDomainAboveMaxID() {
        rejected("""
        machine: {ap_max_domain_id: 15}
        usage_domains: [1, 16]
        """, field: "usage_domains[1]", mentions: ["0x10", "15"])
    }

    func testUnknownFields() {
        rejected("adaptors: []\n", field: "adaptors", mentions: ["unknown field"])
        rejected("""
        adapters:
          - {id: 1, type: CEX8, colour: blue}
        """, field: "adapters[0].colour", mentions: ["unknown field"])
        rejected("machine: {quantum: true}\n", field: "machine.quantum", mentions: ["unknown field"])
    }

    func testBadValues() {
        rejected("""
        adapters:
          - {id: 1, type: CEX8, mode: fast}
        """, field: "adapters[0].mode", mentions: ["fast"])
        rejected("""
        adapters:
          - {id: 1, type: CEX8, facilities: [APSC, WARP]}
        """, field: "adapters[0].facilities[1]", mentions: ["WARP"])
        rejected("""
        adapters:
          - {id: 1, type: CEX8}
          - {id: 1, type: CEX7}
        """, field: "adapters[1].id", mentions: ["0x01"])
        rejected("ap_bus: {apmask: \"0xzz\"}\n", field: "ap_bus.apmask", mentions: ["0xzz"])
        rejected("machine: {qci: maybe}\n", field: "machine.qci", mentions: ["maybe"])
        rejected("""
        mdevs:
          - {uuid: not-a-uuid}
        """, field: "mdevs[0].uuid", mentions: ["not-a-uuid"])
    }

    func testBadAPQNInQueues() {
        rejected("""
        adapters:
          - {id: 5, type: CEX8}
        usage_domains: [4]
        queues:
          - {apqn: "05.0004"}
          - {apqn: "5-4"}
        """, field: "queues[1].apqn", mentions: ["5-4"])
        rejected("""
        adapters:
          - {id: 5, type: CEX8}
        usage_domains: [4]
        queues:
          - {apqn: "06.0004"}
        """, field: "queues[0].apqn", mentions: ["06.0004"])
    }

    func testMdevAssignmentConflicts() {
        // Sharing: EADDRINUSE.
        rejected("""
        adapters:
          - {id: 5, type: CEX8}
        usage_domains: [4]
        ap_bus: {apmask: "0x00", aqmask: "0x00"}
        mdevs:
          - {uuid: \(uuidA), adapters: [5], domains: [4]}
          - {uuid: \(uuidB), adapters: [5], domains: [4]}
        """, field: "mdevs[1].domains", mentions: ["Address already in use", "4"])
        // Ownership: EADDRNOTAVAIL.
        rejected("""
        adapters:
          - {id: 5, type: CEX8}
        usage_domains: [4]
        mdevs:
          - {uuid: \(uuidA), adapters: [5], domains: [4]}
        """, field: "mdevs[0].domains", mentions: ["Cannot assign requested address"])
        // The same UUID twice.
        rejected("""
        mdevs:
          - {uuid: \(uuidA)}
          - {uuid: \(uuidA.uppercased())}
        """, field: "mdevs[1].uuid", mentions: [uuidA])
    }

    func testDriverOverrideNeedsAllOnesMasks() {
        rejected("""
        adapters:
          - {id: 5, type: CEX8}
        usage_domains: [4]
        ap_bus: {apmask: "0x00"}
        queues:
          - {apqn: "05.0004", driver_override: vfio_ap}
        """, field: "queues", mentions: ["driver_override"])
    }

    func testBadRecordedState() {
        rejected("""
        adapters:
          - {id: 5, type: CEX8}
        usage_domains: [4]
        queues:
          - {apqn: "05.0004", dev_state: asleep}
        """, field: "queues[0].dev_state", mentions: ["asleep", "operating", "uninitiated"])
        rejected("""
        adapters:
          - {id: 5, type: CEX8}
        usage_domains: [4]
        queues:
          - {apqn: "05.0004", reset_pending: perhaps}
        """, field: "queues[0].reset_pending", mentions: ["perhaps"])
        rejected("""
        adapters:
          - {id: 5, type: CEX8}
        usage_domains: [4]
        queues:
          - {apqn: "05.0004", online: sometimes}
        """, field: "queues[0].online", mentions: ["sometimes"])
        rejected("""
        adapters:
          - {id: 5, type: CEX8, mode: ep11}
        usage_domains: [4]
        queues:
          - {apqn: "05.0004", association_index: 0x10000}
        """, field: "queues[0].association_index", mentions: ["0x10000"])
        rejected("ap_bus: {ap_domain: -2}\n", field: "ap_bus.ap_domain", mentions: ["-2"])
        rejected("machine: {ap_max_domain_id: 15}\nap_bus: {ap_domain: 20}\n", field: "ap_bus.ap_domain", mentions: ["20", "15"])
        rejected("ap_bus: {bindings_complete_count: -1}\n", field: "ap_bus.bindings_complete_count", mentions: ["-1"])
        rejected("ap_bus: {config_time: 200}\n", field: "ap_bus.config_time", mentions: ["200"])
        rejected("ap_bus: {poll_timeout: 120000000001}\n", field: "ap_bus.poll_timeout", mentions: ["120000000001"])
        rejected("ap_bus: {poll_thread: true}\n", field: "ap_bus.poll_thread", mentions: ["interrupts"])
        rejected("""
        mdevs:
          - {uuid: \(uuidA), iommu_group: 1}
          - {uuid: \(uuidB), iommu_group: 1}
        """, field: "mdevs[1].iommu_group", mentions: ["1", uuidA])
        rejected("""
        mdevs:
          - {uuid: \(uuidA), vfio_device: 0}
          - {uuid: \(uuidB), vfio_device: 0}
        """, field: "mdevs[1].vfio_device", mentions: ["vfio0", uuidA])
        rejected("""
        mdevs:
          - {uuid: \(uuidA), iommu_group: -1}
        """, field: "mdevs[0].iommu_group", mentions: ["-1"])
    }

    func testEmptyAndInvalidYAML() {
        rejected("", field: "", mentions: ["empty"])
        rejected("[1, 2]", field: "", mentions: ["mapping"])
        rejected("adapters: {", field: "", mentions: ["YAML"])
    }
}
