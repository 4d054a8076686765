import Foundation

/// The write requests of each session still being answered, so that a
/// session about to end can let the stores it released (`willStop`) reply
/// before the connection is aborted: a writer blocked in a store gets the
/// errno the store returns, not ECONNABORTED.
enum PendingWrites {
    private static let condition = NSCondition()
    nonisolated(unsafe) private static var counts: [UnsafeMutableRawPointer: Int] = [:]

    static func begin(_ session: UnsafeMutableRawPointer) {
        condition.lock()
        counts[session, default: 0] += 1
        condition.unlock()
    }

    static func end(_ session: UnsafeMutableRawPointer) {
        condition.lock()
        counts[session, default: 1] -= 1
        if counts[session] == 0 { counts[session] = nil }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until no write of `session` is in progress, at most `timeout`
    /// seconds (a store that does not end when asked to is not waited for).
    static func drain(_ session: UnsafeMutableRawPointer, timeout: TimeInterval) {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        while (counts[session] ?? 0) > 0, Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        condition.unlock()
    }
}
