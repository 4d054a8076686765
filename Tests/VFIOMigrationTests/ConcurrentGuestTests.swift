import APCore
import Foundation
import SystemPackage
import TestSupport
import VFIOMigration
import XCTest

/// Guests starting, pausing and stopping, migration states and streams,
/// mdev removals that wait for a guest, and matrix changes, all at once
/// from several threads (the control socket serves each request on its
/// own thread). Run under `swift test --sanitize=thread` too.
final class ConcurrentGuestTests: XCTestCase {
    func testGuestsStreamsAndMatrixChangesAtOnceKeepTheInvariants() throws {
        let host = try makeHost(LoadTopology.yaml)
        defer { host.shutdown() }
        let guests = GuestManager(host: host)
        let devices = guests.devices
        let uuids = LoadTopology.uuids
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            var rng = SeededGenerator(seed: UInt64(100 + t))
            for _ in 0..<300 {
                let u = uuids.randomElement(using: &rng)!
                let g = "g\(Int.random(in: 0..<4, using: &rng))"
                let id = UInt64.random(in: 1...4, using: &rng)
                switch (t % 4, Int.random(in: 0..<4, using: &rng)) {
                case (0, 0): try? host.update { try $0.createMdev(uuid: u) }
                // Waits for a guest holding it to let go (GuestManager honours the request).
                case (0, 1): try? host.removeMdev(uuid: u)
                case (0, _): try? host.update { try $0.assign(.adapter, id: id, to: u) }
                case (1, 0): try? host.update { try $0.assign(.domain, id: id, to: u) }
                case (1, 1): try? host.update { try $0.unassign(.adapter, id: id, from: u) }
                case (1, 2): try? host.update { try $0.setAPMask(Bool.random(using: &rng) ? APMask(ids: [1, 2]) : APMask(ids: [1])) }
                case (1, _): try? host.update { try $0.unassign(.domain, id: id, from: u) }
                case (2, 0): try? guests.start(g, mdevs: [u])
                case (2, 1): try? guests.stop(g)
                case (2, 2): try? guests.setPaused(g, true)
                case (2, _): try? guests.setPaused(g, false)
                case (_, 0): try? devices.setState(u, MigrationState.allCases.randomElement(using: &rng)!)
                case (_, 1): _ = try? devices.read(u, count: 64)
                case (_, 2): _ = try? devices.write(u, [UInt8](repeating: 0, count: Int.random(in: 1...24, using: &rng)))
                default: devices.closeFile(u)
                }
            }
        }
        XCTAssertEqual(HostInvariants.violations(host.read { $0 }, overridesUsed: false), [])
    }
}
