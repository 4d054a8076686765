import Foundation
import Glibc

/// Where exec's time goes: with VFIO_AP_SIM_TIMING set in the environment,
/// the end of each phase is printed to stderr, in milliseconds since the
/// first mark (taken when exec starts).
enum PhaseClock {
    static let enabled = getenv("VFIO_AP_SIM_TIMING") != nil

    private static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1e6
    }

    nonisolated(unsafe) private static var first: Double?

    static func mark(_ phase: @autoclosure () -> String) {
        guard enabled else { return }
        let t = now()
        let origin = first ?? t
        first = origin
        FileHandle.standardError.write(Data(("vfio-ap-sim: " + String(format: "%7.2f", t - origin) + " ms " + phase() + "\n").utf8))
    }
}
