import APCore
import Foundation
import Sysfs
import TestSupport
import XCTest

/// Threads writing and reading the tree at once, as FUSE worker threads
/// do: the host's one lock keeps every invariant. Run under
/// `swift test --sanitize=thread` (scripts/test.sh), it is also the race
/// check of the Sysfs and APCore code a write goes through.
final class ConcurrentStoreTests: XCTestCase {
    static let threads = 8
    static let storesPerThread = 400

    /// One random store: a path and the bytes written, the kinds of the load test.
    static func randomStore(_ rng: inout SeededGenerator) -> (String, String) {
        let u = LoadTopology.uuids.randomElement(using: &rng)!
        let m = "/devices/vfio_ap/matrix/\(u)"
        let id = Int.random(in: 1...5, using: &rng)
        let queue = String(format: "%02x.%04x\n", Int.random(in: 1...4, using: &rng), Int.random(in: 1...4, using: &rng))
        let driver = Bool.random(using: &rng) ? "vfio_ap" : "cex4queue"
        // Left-aligned hex bitmaps of IDs among 1-4 (0x78 is all four).
        let masks = ["", "0x40", "0x18", "0x08", "0x78", "0x30"]
        func mask() -> String { masks.randomElement(using: &rng)! }
        switch Int.random(in: 0..<14, using: &rng) {
        case 0, 1: return (m + "/assign_adapter", "\(id)\n")
        case 2, 3: return (m + "/assign_domain", "\(id)\n")
        case 4: return (m + "/unassign_adapter", "\(id)\n")
        case 5: return (m + "/unassign_domain", "\(id)\n")
        case 6: return (m + "/assign_control_domain", "\(id)\n")
        case 7: return (m + "/ap_config", "\(mask()),\(mask()),\(mask())\n")
        case 8: return ("/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create", u)
        case 9: return (m + "/remove", "1")
        case 10: return ("/bus/ap/apmask", (Bool.random(using: &rng) ? "+" : "-") + "\(id)\n")
        case 11: return ("/bus/ap/aqmask", (Bool.random(using: &rng) ? "+" : "-") + "\(id)\n")
        case 12: return ("/bus/ap/drivers/\(driver)/bind", queue)
        default: return ("/bus/ap/drivers/\(driver)/unbind", queue)
        }
    }

    func testThreadsStoringAtOnceKeepTheInvariants() throws {
        let host = try makeHost(LoadTopology.yaml)
        defer { host.shutdown() }
        let tree = SysfsTree(host: host)
        let reported = Counter()
        tree.observeChanges { _ in reported.add() }
        let succeeded = Counter()
        DispatchQueue.concurrentPerform(iterations: Self.threads) { t in
            var rng = SeededGenerator(seed: UInt64(t + 1))
            for k in 0..<Self.storesPerThread {
                let (path, text) = Self.randomStore(&rng)
                if case .success = tree.store(path, Array(text.utf8)) { succeeded.add() }
                // Readers walk what the writers change.
                if k % 4 == 0 {
                    for p in ["/bus/ap/bindings", "/bus/ap/apmask", path.replacingOccurrences(of: "assign_adapter", with: "matrix")] {
                        _ = tree.show(p)
                    }
                    _ = tree.list("/devices/vfio_ap/matrix")
                }
            }
        }
        XCTAssertEqual(HostInvariants.violations(host.read { $0 }, overridesUsed: false), [])
        XCTAssertGreaterThan(succeeded.value, Self.threads * Self.storesPerThread / 10, "most stores were refused")
        XCTAssertGreaterThan(reported.value, 0, "no change was reported")
    }
}

/// A count shared by threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
