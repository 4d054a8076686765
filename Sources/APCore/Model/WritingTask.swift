/// The process doing a write, as the kernel's `current` is to a store
/// function: its pid and command name for messages that name it, and
/// whether a signal has come for it while the store blocks.
public struct WritingTask: Sendable {
    public let pid: Int32
    /// `current->comm`, looked up only when a message needs it.
    public let command: @Sendable () -> String
    /// `signal_pending(current)`.
    public let signalPending: @Sendable () -> Bool

    public init(pid: Int32, command: @escaping @Sendable () -> String, signalPending: @escaping @Sendable () -> Bool) {
        self.pid = pid
        self.command = command
        self.signalPending = signalPending
    }
}
