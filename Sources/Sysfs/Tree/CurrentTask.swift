import APCore

/// The task a store() runs for, kept per thread while it runs, as `current`
/// is in the kernel: SysfsTree sets it, a store that needs it (mdev
/// `remove`) reads it. A ThreadSlot, not Foundation's threadDictionary:
/// that boxed the key and the value in an NSMutableDictionary twice per
/// write, a few percent of a store.
enum CurrentTask {
    private final class Slot {
        var task: WritingTask?
    }

    private static let slots = ThreadSlot { Slot() }

    static var value: WritingTask? { slots.existing?.task }

    static func `while`<T>(_ task: WritingTask?, _ body: () -> T) -> T {
        let slot = slots.object
        let previous = slot.task
        slot.task = task
        defer { slot.task = previous }
        return body()
    }
}
