import APCore
import Foundation
import SystemPackage
import TestSupport
import XCTest

/// The mdev indexes (`MediatedDeviceList`) answer what a walk of every mdev
/// answered: the same mdev by UUID and by APQN, the same first conflict in
/// the kernel's list order (`vfio_ap_mdev_verify_no_sharing` walks
/// `mdev_list` newest first), so the same errno and the same log lines, and
/// the same lowest free iommu group and VFIO device index.
final class MdevIndexTests: XCTestCase {
    /// Adapters 1-8 and domains 1-8 of CEX8 cards, all given to vfio_ap.
    let yaml = """
        name: index
        machine: {ap_max_adapter_id: 255, ap_max_domain_id: 255}
        adapters:
        \((1...8).map { "  - {id: \($0), type: CEX8, mode: cca}" }.joined(separator: "\n"))
        usage_domains: [1-8]
        control_domains: [1-8]
        ap_bus: {apmask: "0x00", aqmask: "0x00"}

        """

    func uuid(_ k: Int) -> String { "00000000-0000-4000-8000-\(KernelFormat.hex(k, width: 12))" }

    // MARK: - The walks the indexes replace (the code before them)

    static func walkByUUID(_ s: HostState, _ uuid: String) -> Int? { s.mdevs.firstIndex { $0.uuid == uuid } }

    static func walkByAPQN(_ s: HostState, _ q: APQN) -> Int? {
        s.mdevs.indices.reversed().first { s.mdevs[$0].isAssigned(q) }
    }

    static func walkSharing(_ s: HostState, adapters: APMask, domains: APMask, excluding: Int?) -> Int? {
        s.mdevs.indices.reversed().first { j in
            j != excluding && s.mdevs[j].matrix.adapters.intersects(adapters) && s.mdevs[j].matrix.domains.intersects(domains)
        }
    }

    static func walkLowestFree(_ used: [Int]) -> Int {
        let set = Set(used)
        var n = 0
        while set.contains(n) { n += 1 }
        return n
    }

    /// Every lookup of `s` agrees with its walk.
    func assertIndexesAgree(_ s: HostState, _ rng: inout SeededGenerator, _ context: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        for (j, m) in s.mdevs.enumerated() {
            XCTAssertEqual(s.mdevIndex(uuid: m.uuid), Self.walkByUUID(s, m.uuid), context, file: file, line: line)
            XCTAssertEqual(Self.walkByUUID(s, m.uuid), j, context, file: file, line: line)
        }
        XCTAssertNil(s.mdevIndex(uuid: uuid(999)), context, file: file, line: line)
        for a in 0...9 {
            for d in 0...9 {
                let q = APQN(card: a, domain: d)
                XCTAssertEqual(s.mdevIndex(assigning: q), Self.walkByAPQN(s, q), "\(context) \(q)", file: file, line: line)
            }
        }
        for _ in 0..<20 {
            let adapters = APMask(ids: (0...9).filter { _ in Bool.random(using: &rng) })
            let domains = APMask(ids: (0...9).filter { _ in Bool.random(using: &rng) })
            let excluding: Int? = s.mdevs.isEmpty || Bool.random(using: &rng) ? nil : Int.random(in: 0..<s.mdevs.count, using: &rng)
            XCTAssertEqual(s.mdevs.newestSharing(adapters: adapters, domains: domains, excluding: excluding),
                           Self.walkSharing(s, adapters: adapters, domains: domains, excluding: excluding),
                           context, file: file, line: line)
        }
        XCTAssertEqual(s.mdevs.lowestFreeIOMMUGroup, Self.walkLowestFree(s.mdevs.map(\.iommuGroup)), context, file: file, line: line)
        XCTAssertEqual(s.mdevs.lowestFreeVFIODeviceIndex, Self.walkLowestFree(s.mdevs.map(\.vfioDeviceIndex)), context,
                       file: file, line: line)
    }

    /// Random creates, removes, assignments, ap_config and mask writes:
    /// after each, the indexes agree with the walks; each refused
    /// assignment's errno and log lines name the mdev the walk finds.
    func testRandomOperationsAgreeWithTheWalks() throws {
        let host = try makeHost(yaml)
        var rng = SeededGenerator(seed: 9)
        var refusals = 0
        for step in 0..<600 {
            let s = host.state
            let pick = Int.random(in: 0..<100, using: &rng)
            let k = Int.random(in: 0..<12, using: &rng)
            let id = UInt64(Int.random(in: 1...8, using: &rng))
            let context = "step \(step)"
            if pick < 12 {
                try? host.update { try $0.createMdev(uuid: uuid(k)) }
            } else if pick < 17 {
                try? host.update { try $0.removeMdev(uuid: uuid(k)) }
            } else if pick < 80, let i = Self.walkByUUID(s, uuid(k)) {
                // assign_adapter / assign_domain: predict the conflict by walking.
                let resource: HostState.MatrixResource = pick < 45 ? .adapter : .domain
                var new = s.mdevs[i].matrix
                new[resource].insert(Int(id))
                let owned = new.apqns.contains(where: s.isOwnedByDefaultDriver)
                let conflict = owned ? nil : Self.walkSharing(s, adapters: new.adapters, domains: new.domains, excluding: i)
                let before = s.log.entries.count
                let result = Result { try host.update { try $0.assign(resource, id: id, to: uuid(k)) } }
                let lines = host.state.log.entries.dropFirst(before).map(\.text)
                if let c = conflict, !s.mdevs[i].matrix[resource].contains(Int(id)) {
                    refusals += 1
                    XCTAssertThrowsError(try result.get(), context) { XCTAssertEqual($0 as? Errno, .addressInUse, context) }
                    let shared = APMatrix(adapters: new.adapters.intersection(s.mdevs[c].matrix.adapters),
                                          domains: new.domains.intersection(s.mdevs[c].matrix.domains)).apqns
                    XCTAssertEqual(lines, shared.map {
                        "vfio_ap_mdev \(uuid(k)): Userspace may not assign queue \($0) to mdev: already assigned to \(s.mdevs[c].uuid)"
                    }, context)
                } else if !owned {
                    XCTAssertNoThrow(try result.get(), context)
                }
            } else if pick < 90, Self.walkByUUID(s, uuid(k)) != nil {
                let resource: HostState.MatrixResource = pick < 85 ? .adapter : .domain
                try host.update { try $0.unassign(resource, id: id, from: uuid(k)) }
            } else if pick < 95 {
                // apmask: reserving adapters an mdev holds queues on is EBUSY,
                // the lines on the newest such mdev.
                let mask = APMask(ids: [Int(id)])
                let conflict = Self.walkSharing(s, adapters: mask, domains: .allOnes, excluding: nil)
                let before = s.log.entries.count
                let result = Result { try host.update { try $0.setAPMask(mask) } }
                if let c = conflict {
                    XCTAssertThrowsError(try result.get(), context) { XCTAssertEqual($0 as? Errno, .resourceBusy, context) }
                    let lines = host.state.log.entries.dropFirst(before).map(\.text)
                    XCTAssertTrue(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("vfio_ap_mdev \(s.mdevs[c].uuid): Can not reserve queue") },
                                  "\(context): \(lines)")
                } else {
                    XCTAssertNoThrow(try result.get(), context)
                    try host.update { try $0.setAPMask(APMask()) }
                }
            } else if let i = Self.walkByUUID(s, uuid(k)) {
                // ap_config: the whole matrix at once.
                let new = APMatrix(adapters: APMask(ids: [Int(id), Int(id) % 8 + 1]), domains: APMask(ids: [Int(id)]))
                let conflict = Self.walkSharing(s, adapters: new.adapters, domains: new.domains, excluding: i)
                let result = Result { try host.update { try $0.setAPConfig(new, of: uuid(k)) } }
                if conflict != nil {
                    XCTAssertThrowsError(try result.get(), context) { XCTAssertEqual($0 as? Errno, .addressInUse, context) }
                } else {
                    XCTAssertNoThrow(try result.get(), context)
                }
            }
            assertIndexesAgree(host.state, &rng, context)
        }
        XCTAssertGreaterThan(refusals, 10, "the sequence meets conflicts")
        XCTAssertGreaterThan(host.state.mdevs.count, 3)
    }

    /// Mdevs sharing a queue (a state file could hold them; the rules never
    /// make them): the conflict reported is the newest, and after its
    /// removal the next newest, as the kernel's walk of `mdev_list` finds them.
    func testNewestOfSeveralHoldersIsReported() throws {
        let host = try makeHost(yaml)
        let q = APQN(card: 5, domain: 4)
        try host.update { s in
            for k in 1...3 {
                try s.createMdev(uuid: uuid(k))
                s.mdevs[k - 1].matrix = APMatrix(adapters: APMask(ids: [5]), domains: APMask(ids: [4]))
            }
            try s.createMdev(uuid: uuid(4))
            try s.assign(.adapter, id: 5, to: uuid(4))
        }
        XCTAssertEqual(host.state.mdevIndex(assigning: q), 2)
        var before = host.state.log.entries.count
        assertErrno(.addressInUse) { try host.update { try $0.assign(.domain, id: 4, to: uuid(4)) } }
        XCTAssertEqual(host.state.log.entries.dropFirst(before).map(\.text),
                       ["vfio_ap_mdev \(uuid(4)): Userspace may not assign queue 05.0004 to mdev: already assigned to \(uuid(3))"])
        before = host.state.log.entries.count
        assertErrno(.resourceBusy) { try host.update { try $0.setAPMask(APMask(ids: [5])) } }
        XCTAssertEqual(host.state.log.entries.dropFirst(before).map(\.text),
                       ["vfio_ap_mdev \(uuid(3)): Can not reserve queue 05.0004 for host driver: in use by mdev"])

        try host.update { try $0.removeMdev(uuid: uuid(3)) }
        XCTAssertEqual(host.state.mdevIndex(assigning: q), 1)
        before = host.state.log.entries.count
        assertErrno(.addressInUse) { try host.update { try $0.assign(.domain, id: 4, to: uuid(4)) } }
        XCTAssertEqual(host.state.log.entries.dropFirst(before).map(\.text),
                       ["vfio_ap_mdev \(uuid(4)): Userspace may not assign queue 05.0004 to mdev: already assigned to \(uuid(2))"])
        // The freed iommu group (2) is the lowest free one again.
        try host.update { try $0.createMdev(uuid: uuid(5)) }
        XCTAssertEqual(host.state.mdevs.last?.iommuGroup, 2)
        XCTAssertEqual(host.state.mdevs.last?.vfioDeviceIndex, 2)
    }

    /// A list decoded from a state file (Codable, as an array) is indexed.
    func testDecodedListIsIndexed() throws {
        var m = MediatedDevice(uuid: uuid(1), iommuGroup: 0, vfioDeviceIndex: 1)
        m.matrix = APMatrix(adapters: APMask(ids: [3]), domains: APMask(ids: [7]))
        let list: MediatedDeviceList = [m, MediatedDevice(uuid: uuid(2), iommuGroup: 2, vfioDeviceIndex: 0)]
        let decoded = try JSONDecoder().decode(MediatedDeviceList.self, from: try JSONEncoder().encode(list))
        XCTAssertEqual(decoded, list)
        let json = JSONEncoder()
        json.outputFormatting = .sortedKeys
        XCTAssertEqual(try json.encode(Array(list)), try json.encode(list), "persisted as an array")
        XCTAssertEqual(decoded.position(of: uuid(2)), 1)
        XCTAssertEqual(decoded.newestHolder(of: APQN(card: 3, domain: 7)), 0)
        XCTAssertNil(decoded.newestHolder(of: APQN(card: 3, domain: 8)))
        XCTAssertEqual(decoded.lowestFreeIOMMUGroup, 1)
        XCTAssertEqual(decoded.lowestFreeVFIODeviceIndex, 2)

        // Changed in place, UUID and matrix included, it is indexed anew.
        var changed = decoded
        changed[0].uuid = uuid(3)
        changed[0].matrix.domains = APMask(ids: [8])
        XCTAssertEqual(changed.position(of: uuid(3)), 0)
        XCTAssertNil(changed.position(of: uuid(1)))
        XCTAssertNil(changed.newestHolder(of: APQN(card: 3, domain: 7)))
        XCTAssertEqual(changed.newestHolder(of: APQN(card: 3, domain: 8)), 0)
        XCTAssertEqual(decoded.position(of: uuid(1)), 0, "a copy keeps its own indexes")

        // Two mdevs of one UUID (a state file could hold them): the first
        // is found, and after its removal the other.
        var twice: MediatedDeviceList = [MediatedDevice(uuid: uuid(5), iommuGroup: 0, vfioDeviceIndex: 0), m,
                                         MediatedDevice(uuid: uuid(5), iommuGroup: 2, vfioDeviceIndex: 2)]
        XCTAssertEqual(twice.position(of: uuid(5)), 0)
        twice.remove(at: 0)
        XCTAssertEqual(twice.position(of: uuid(5)), 1)
        XCTAssertEqual(twice.position(of: uuid(1)), 0)
        XCTAssertEqual(twice.newestHolder(of: APQN(card: 3, domain: 7)), 0)
        XCTAssertEqual(twice.lowestFreeIOMMUGroup, 1, "groups 0 (uuid 1) and 2 in use")
    }
}
