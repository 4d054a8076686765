@testable import APCore
import Foundation
import TestSupport
import XCTest

/// The AP bus rescan timer on the process's TimerThread: it fires once at
/// its deadline, a new deadline replaces the pending one, the same one
/// armed again changes nothing, cancel and deinit stop it, the timers of
/// several hosts fire in deadline order, and a host scans the bus when its
/// `nextScanAt` is due (ap_bus.c `ap_scan_bus_timer`).
final class BusScanTimerTests: XCTestCase {
    /// What the timers fired, in order, with the time of each.
    private final class Fired: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [(name: String, at: UInt64)] = []
        func add(_ name: String) { lock.lock(); list.append((name, TimerThread.now())); lock.unlock() }
        var names: [String] { lock.lock(); defer { lock.unlock() }; return list.map(\.name) }
        var times: [UInt64] { lock.lock(); defer { lock.unlock() }; return list.map(\.at) }
    }

    private let ms: UInt64 = 1_000_000

    /// Waits up to 5 s for `count` firings, then 150 ms more for any extra one.
    private func settle(_ fired: Fired, count: Int) {
        let end = Date().addingTimeInterval(5)
        while fired.names.count < count, Date() < end { usleep(2_000) }
        usleep(150_000)
    }

    func testFiresOnceAtItsDeadline() {
        let fired = Fired(), timer = BusScanTimer(), boot = TimerThread.now()
        timer.arm(at: 40 * ms, boot: boot) { fired.add("scan") }
        settle(fired, count: 1)
        XCTAssertEqual(fired.names, ["scan"])
        XCTAssertGreaterThanOrEqual(fired.times.first.map { $0 &- boot } ?? 0, 40 * ms, "fired before its deadline")
    }

    /// One timer armed for `first` then for `second` (ms), each firing its
    /// own name, once what fires has fired.
    private func armedTwice(_ first: UInt64, _ second: UInt64) -> (Fired, BusScanTimer, UInt64) {
        let fired = Fired(), timer = BusScanTimer(), boot = TimerThread.now()
        timer.arm(at: first * ms, boot: boot) { fired.add("first") }
        timer.arm(at: second * ms, boot: boot) { fired.add("second") }
        settle(fired, count: 1)
        return (fired, timer, boot)
    }

    func testANewDeadlineReplacesThePendingOne() {
        XCTAssertEqual(armedTwice(60_000, 30).0.names, ["second"])
    }

    func testTheSameDeadlineArmedAgainChangesNothing() {
        let (fired, timer, boot) = armedTwice(30, 30)
        XCTAssertEqual(fired.names, ["first"])
        // Fired, the deadline is still the one armed: arming it again does not fire twice.
        timer.arm(at: 30 * ms, boot: boot) { fired.add("third") }
        settle(fired, count: 1)
        XCTAssertEqual(fired.names, ["first"])
    }

    func testCancelAndDeinitStopIt() {
        let fired = Fired(), boot = TimerThread.now()
        let cancelled = BusScanTimer()
        cancelled.arm(at: 30 * ms, boot: boot) { fired.add("cancelled") }
        cancelled.cancel()
        var released: BusScanTimer? = BusScanTimer()
        released?.arm(at: 30 * ms, boot: boot) { fired.add("released") }
        released = nil
        let kept = BusScanTimer()
        kept.arm(at: 60 * ms, boot: boot) { fired.add("kept") }
        settle(fired, count: 1)
        XCTAssertEqual(fired.names, ["kept"])
        // Cancelled, the same deadline may be armed again.
        cancelled.arm(at: 30 * ms, boot: boot) { fired.add("again") }
        settle(fired, count: 2)
        XCTAssertEqual(fired.names, ["kept", "again"])
    }

    func testSeveralTimersFireInDeadlineOrder() {
        let fired = Fired(), boot = TimerThread.now()
        let timers = [90, 30, 60].map { delay -> BusScanTimer in
            let t = BusScanTimer()
            t.arm(at: UInt64(delay) * ms, boot: boot) { fired.add("\(delay)") }
            return t
        }
        settle(fired, count: 3)
        XCTAssertEqual(fired.names, ["30", "60", "90"])
        withExtendedLifetime(timers) {}
    }

    /// A host whose next scan is due in 50 ms scans once then, and the
    /// scan arms the next one `config_time` (30 s) later.
    func testTheHostScansWhenItsNextScanIsDue() throws {
        var state = try makeHost(smallTopology).state
        state.bus.nextScanAt = state.now + 50 * ms
        let host = S390Host(name: "timer", state: state, uptime: state.now)
        let end = Date().addingTimeInterval(5)
        while host.state.bus.scans == state.bus.scans, Date() < end { usleep(2_000) }
        let after = host.state
        XCTAssertEqual(after.bus.scans, state.bus.scans + 1, "no scan at the deadline")
        XCTAssertGreaterThanOrEqual(after.bus.nextScanAt, state.bus.nextScanAt + 30_000 * ms)
        host.shutdown()
    }
}
