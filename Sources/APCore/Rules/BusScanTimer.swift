import Foundation

/// The AP bus rescan timer (ap_bus.c `ap_scan_bus_timer`): fires when the
/// model says the next scan is due (`BusSettings.nextScanAt`), runs one
/// scan, and is re-armed by every scan and every `config_time` write.
/// Runs on the process's TimerThread.
final class BusScanTimer: @unchecked Sendable {
    private let token = TimerThread.shared.makeToken()
    private let lock = NSLock()
    /// The deadline last armed, fired or not: arming it again changes nothing.
    private var armedFor: UInt64?

    /// Arms the timer for `deadline` (nanoseconds since `boot`, a
    /// DispatchTime uptime value) unless it is already armed for it.
    func arm(at deadline: UInt64, boot: UInt64, fire: @escaping @Sendable () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard armedFor != deadline else { return }
        armedFor = deadline
        TimerThread.shared.schedule(token, at: boot &+ deadline, fire: fire)
    }

    func cancel() {
        lock.lock()
        defer { lock.unlock() }
        armedFor = nil
        TimerThread.shared.cancel(token)
    }

    deinit { TimerThread.shared.cancel(token) }
}
