import Dispatch

/// The AP bus rescan timer (ap_bus.c `ap_scan_bus_timer`): fires when the
/// model says the next scan is due (`BusSettings.nextScanAt`), runs one
/// scan, and is re-armed by every scan and every `config_time` write.
final class BusScanTimer: @unchecked Sendable {
    private let queue = DispatchQueue(label: "vfio-ap-sim.ap-scan-bus-timer")
    private var timer: DispatchSourceTimer?
    private var armedFor: UInt64?

    /// Arms the timer for `deadline` (nanoseconds since `boot`, a
    /// DispatchTime uptime value) unless it is already armed for it.
    func arm(at deadline: UInt64, boot: UInt64, fire: @escaping @Sendable () -> Void) {
        queue.sync {
            guard armedFor != deadline else { return }
            armedFor = deadline
            timer?.cancel()
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.schedule(deadline: DispatchTime(uptimeNanoseconds: boot &+ deadline), leeway: .milliseconds(10))
            // Off the timer's queue: the scan re-arms the timer.
            t.setEventHandler { DispatchQueue.global().async(execute: fire) }
            t.resume()
            timer = t
        }
    }

    func cancel() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }

    deinit { timer?.cancel() }
}
