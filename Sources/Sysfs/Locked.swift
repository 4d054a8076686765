import Foundation

/// A value behind an NSLock, used like Synchronization's `Mutex`. State
/// shared by the FUSE threads uses it because Thread Sanitizer sees a
/// pthread mutex (NSLock) but not `Mutex`, whose Linux futex lives in the
/// uninstrumented standard library: every access under a `Mutex` is
/// reported as a race (docs/RELIABILITY.md).
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
