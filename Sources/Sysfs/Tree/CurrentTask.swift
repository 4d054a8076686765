import APCore
import Glibc

/// The task a store() runs for, kept per thread while it runs, as `current`
/// is in the kernel: SysfsTree sets it, a store that needs it (mdev
/// `remove`) reads it. A slot of a pthread key, not Foundation's
/// threadDictionary: that boxed the key and the value in an
/// NSMutableDictionary twice per write, a few percent of a store.
enum CurrentTask {
    private final class Slot {
        var task: WritingTask?
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // The thread's slot goes with it.
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<Slot>.fromOpaque(raw).release() }
        }
        return key
    }()

    /// This thread's slot, made at its first store.
    private static var slot: Slot {
        if let raw = pthread_getspecific(key) { return Unmanaged<Slot>.fromOpaque(raw).takeUnretainedValue() }
        let slot = Slot()
        pthread_setspecific(key, Unmanaged.passRetained(slot).toOpaque())
        return slot
    }

    static var value: WritingTask? {
        pthread_getspecific(key).flatMap { Unmanaged<Slot>.fromOpaque($0).takeUnretainedValue().task }
    }

    static func `while`<T>(_ task: WritingTask?, _ body: () -> T) -> T {
        let slot = slot
        let previous = slot.task
        slot.task = task
        defer { slot.task = previous }
        return body()
    }
}
