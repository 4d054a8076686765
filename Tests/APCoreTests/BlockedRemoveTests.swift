import APCore
import Foundation
import TestSupport
import XCTest

/// `removeMdev` while a guest holds the mdev (vfio_unregister_group_dev):
/// device requests at once and every interval, and a signal for the
/// writer logged once, after which it waits on.
final class BlockedRemoveTests: XCTestCase {
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }

    /// The device requests relayed so far (their counts).
    final class Requests: @unchecked Sendable {
        private let condition = NSCondition()
        private var relayed: [Int] = []
        func add(_ count: Int) { condition.lock(); relayed.append(count); condition.broadcast(); condition.unlock() }
        var counts: [Int] { condition.lock(); defer { condition.unlock() }; return relayed }
        /// Whether `n` requests came within 10 s.
        func wait(for n: Int) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            let deadline = Date().addingTimeInterval(10)
            while relayed.count < n, condition.wait(until: deadline) {}
            return relayed.count >= n
        }
    }

    func testASignalIsLoggedOnceAndTheWriterWaitsForTheRelease() throws {
        let host = try makeHost(smallTopology)
        defer { host.shutdown() }
        try host.update { s in
            try s.createMdev(uuid: uuidA)
            try s.addGuest(Guest(name: "g1"))
            try s.openMdev(uuidA, guest: "g1")
        }
        let requests = Requests()
        host.deviceRequestHandler = { _, count in requests.add(count) }
        let signal = Flag(), done = Flag()
        let task = WritingTask(pid: 4242, command: { "python3" }, signalPending: { signal.isSet })
        let remover = Thread {
            try? host.removeMdev(uuid: uuidA, task: task)
            done.set()
        }
        remover.start()
        XCTAssertTrue(requests.wait(for: 1))
        signal.set()
        // The signal ends the interruptible wait: a second request goes out at once.
        XCTAssertTrue(requests.wait(for: 2))
        let warning = "vfio_ap_mdev \(uuidA): Device is currently in use, task \"python3\" (4242) blocked until device is released"
        XCTAssertEqual(host.state.log.entries.map(\.text).filter { $0.contains("Device is currently in use") }, [warning])
        XCTAssertFalse(done.isSet, "the writer waits on after the signal")
        host.update { $0.closeMdev(uuidA) }
        let deadline = Date().addingTimeInterval(10)
        while !done.isSet && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(done.isSet)
        XCTAssertNil(host.state.mdevIndex(uuid: uuidA))
        XCTAssertEqual(requests.counts, [0, 1])
        XCTAssertEqual(host.state.log.entries.filter { $0.text.contains("Device is currently in use") }.count, 1)
    }
}
