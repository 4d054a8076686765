import Foundation

/// Collects everything a pipe delivers, on a background thread, so that a
/// child filling one pipe never blocks on the other.
public final class PipeCollector: @unchecked Sendable {
    public let pipe = Pipe()
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    public init() {}

    public func start() {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); data.append(chunk); lock.unlock()
            }
            done.signal()
        }
    }

    /// What has arrived so far.
    public var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }

    /// Waits for EOF (all writers closed), at most `timeout` seconds.
    @discardableResult
    public func waitForEOF(timeout: TimeInterval) -> Bool { done.wait(timeout: .now() + timeout) == .success }
}
