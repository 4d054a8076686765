import Foundation
import Sysfs

/// A listing reply's buffer, kept per worker thread: readdir replies are up
/// to the getdents buffer (32 KiB), and a fresh allocation of that size for
/// each of a walk's 130,000 listings made glibc consolidate its small free
/// chunks every time (malloc_consolidate, a few percent of the server).
enum ReplyBuffer {
    private final class Storage {
        var pointer: UnsafeMutablePointer<CChar>
        var capacity: Int
        init(capacity: Int) {
            pointer = .allocate(capacity: capacity)
            self.capacity = capacity
        }
        deinit { pointer.deallocate() }
    }

    private static let storages = ThreadSlot { Storage(capacity: 0) }

    /// Runs `body` with this thread's buffer of at least `size` bytes.
    static func with<T>(size: Int, _ body: (UnsafeMutablePointer<CChar>) -> T) -> T {
        let storage = storages.object
        if storage.capacity < size {
            storage.pointer.deallocate()
            storage.pointer = .allocate(capacity: size)
            storage.capacity = size
        }
        return body(storage.pointer)
    }
}
