import Foundation

/// Work exec's start does on a thread of its own while the main thread
/// goes on with what does not need it (the machine has at least two
/// CPUs; exec's start is a chain of system calls and the host's boot).
/// `value()` waits for the thread and returns what it made, or throws
/// what it threw.
final class Background<Value>: @unchecked Sendable {
    private var result: Result<Value, Error>?
    private let finished = DispatchSemaphore(value: 0)

    init(_ work: @escaping () throws -> Value) {
        Thread.detachNewThread { [self] in
            result = Result { try work() }
            finished.signal()
        }
    }

    /// Waits for the work; may be asked again (it then returns at once).
    func value() throws -> Value {
        finished.wait()
        finished.signal()
        return try result!.get()
    }
}
