import APCore
import Foundation
@testable import StateStore
import TestSupport
import XCTest

/// What a state file keeps of the host model: every stored property of
/// `HostState` (and, through synthesized Codable, of everything in it).
final class HostStateCodingTests: XCTestCase {
    /// A property added to HostState later is either persisted (listed in
    /// its CodingKeys) or declared transient; this fails until it is one or
    /// the other.
    func testEveryStoredPropertyIsPersistedOrDeclaredTransient() {
        let stored = Mirror(reflecting: HostState()).children.compactMap(\.label)
        let declared = HostState.persistedProperties + HostState.transientProperties
        XCTAssertEqual(Set(stored), Set(declared), "HostState's properties and its CodingKeys + transientProperties")
        XCTAssertEqual(stored.count, declared.count)
        XCTAssertTrue(Set(HostState.persistedProperties).isDisjoint(with: HostState.transientProperties))
    }

    /// Every part of a changed host comes back the same through the payload.
    func testAChangedHostRoundTrips() throws {
        let host = try makeTestHost()
        for op in operations {
            XCTAssertNoThrow(try host.update { s in try op.change(&s) }, op.name)
        }
        let before = host.read { $0 }
        XCTAssertGreaterThanOrEqual(before.log.entries.count, 5)
        XCTAssertNotNil(before.hardware.parkedQueues[q0604]?.driverOverride ?? before.queues[q0604]?.driverOverride)
        XCTAssertFalse(before.hardware.parkedQueues.isEmpty)
        let nodes = [NodeAttributes(path: "/bus/ap/apmask", mode: 0o600, uid: 65534, gid: nil)]
        let surroundings = SurroundingState(migrationStates: [uuidA: 3], ueventSeqnum: 41)
        let payload = try SnapshotEncoder().payload(before, dirty: .everything, nodes: nodes, surroundings: surroundings)
        let snapshot = try SnapshotDecoder.decode(payload).get()
        XCTAssertEqual(differences(snapshot.host, before), [])
        // The comparison sees what differs.
        XCTAssertTrue(Set(differences(HostState(), before)).isSuperset(of: ["queues", "adapters", "mdevs", "log", "hardware", "bus", "guests", "now"]),
                      "\(differences(HostState(), before))")
        XCTAssertEqual(snapshot.host.queues, before.queues)
        XCTAssertEqual(snapshot.host.adapters, before.adapters)
        XCTAssertEqual(snapshot.host.mdevs, before.mdevs)
        XCTAssertEqual(snapshot.host.guests, before.guests)
        XCTAssertEqual(snapshot.host.log, before.log)
        XCTAssertEqual(snapshot.host.bus, before.bus)
        XCTAssertEqual(snapshot.host.machine, before.machine)
        XCTAssertEqual(snapshot.host.hostConfig, before.hostConfig)
        XCTAssertEqual(snapshot.host.now, before.now)
        XCTAssertEqual(snapshot.nodeAttributes, nodes)
        XCTAssertEqual(snapshot.migrationStates, [uuidA: 3])
        XCTAssertEqual(snapshot.ueventSeqnum, 41)
    }

    /// Saving after each change with only the changed objects re-encoded
    /// gives the same state as encoding everything: the model changes name
    /// every queue and card a rule touched.
    func testIncrementalPayloadsFollowEveryChange() throws {
        let host = try makeTestHost()
        let encoder = SnapshotEncoder()
        _ = try encoder.payload(host.read { $0 }, dirty: .everything, nodes: [], surroundings: SurroundingState())
        for op in operations {
            var changes: [ModelChange] = []
            host.update { s in
                try? op.change(&s)
                changes = s.changes
            }
            var queues = Set<APQN>(), adapters = Set<Int>()
            for c in changes {
                switch c {
                case .queue(let q), .queueBinding(let q), .queueAdded(let q), .queueRemoved(let q): queues.insert(q)
                case .card(let id), .cardBinding(let id), .cardAdded(let id), .cardRemoved(let id): adapters.insert(id)
                default: break
                }
            }
            let state = host.read { $0 }
            let payload = try encoder.payload(state, dirty: .objects(queues: queues, adapters: adapters), nodes: [],
                                              surroundings: SurroundingState())
            let fresh = try SnapshotEncoder().payload(state, dirty: .everything, nodes: [], surroundings: SurroundingState())
            XCTAssertEqual(differences(try SnapshotDecoder.decode(payload).get().host, state), [], op.name)
            XCTAssertEqual(differences(try SnapshotDecoder.decode(fresh).get().host, state), [], op.name)
        }
    }

    /// Identical queues share one template; a queue that changes gets its
    /// own, and a template no queue uses any more is dropped.
    func testQueuesAreStoredByTemplate() throws {
        let host = try makeHost("""
            name: many
            adapters: [{id: 0x05, type: CEX8, mode: accel}, {id: 0x06, type: CEX8, mode: accel}]
            usage_domains: [0-15]
            """)
        let encoder = SnapshotEncoder()
        func templates() throws -> [String: Any] {
            let payload = try encoder.payload(host.read { $0 }, dirty: .everything, nodes: [], surroundings: SurroundingState())
            let object = try JSONSerialization.jsonObject(with: Data(payload)) as! [String: Any]
            XCTAssertEqual((object["queues"] as! [String: Int]).count, 32)
            return object["queueTemplates"] as! [String: Any]
        }
        XCTAssertEqual(try templates().count, 1)
        host.update { s in try? s.setQueueOnline(APQN(card: 5, domain: 3), false) }
        XCTAssertEqual(try templates().count, 2)
        host.update { s in try? s.setQueueOnline(APQN(card: 5, domain: 3), true) }
        XCTAssertEqual(try templates().count, 1)
    }
}
