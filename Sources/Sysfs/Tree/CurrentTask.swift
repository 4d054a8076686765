import APCore
import Foundation

/// The task a store() runs for, kept per thread while it runs, as `current`
/// is in the kernel: SysfsTree sets it, a store that needs it (mdev
/// `remove`) reads it.
enum CurrentTask {
    private static let key = "vfio-ap-sim.current-task"

    static var value: WritingTask? { Thread.current.threadDictionary[key] as? WritingTask }

    static func `while`<T>(_ task: WritingTask?, _ body: () -> T) -> T {
        let dictionary = Thread.current.threadDictionary
        let previous = dictionary[key]
        dictionary[key] = task
        defer { dictionary[key] = previous }
        return body()
    }
}
