import CFuse
import Foundation
import Sysfs

/// Routes libfuse's log through us so mount errors can quote libfuse's own
/// reason ("bad mount point ...: No such file or directory"). Messages still
/// go to stderr, as libfuse's default handler does.
enum LibfuseLog {
    private static let captured = Locked<[String]?>(nil)
    private static let captureLock = NSLock()
    private static let installOnce: Void = {
        fuse_set_log_func { _, format, arguments in
            guard let format, let arguments else { return }
            var buffer = [CChar](repeating: 0, count: 1024)
            _ = vsnprintf(&buffer, buffer.count, format, arguments)
            let message = String(cString: buffer)
            fputs(message, stderr)
            LibfuseLog.captured.withLock { $0?.append(message) }
        }
    }()

    /// Runs `body`, returning its result and what libfuse logged meanwhile.
    static func capture<T>(_ body: () -> T) -> (T, String) {
        _ = installOnce
        captureLock.lock()
        defer { captureLock.unlock() }
        captured.withLock { $0 = [] }
        let result = body()
        let messages = captured.withLock { messages -> [String] in
            defer { messages = nil }
            return messages ?? []
        }
        let text = messages.joined()
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
        return (result, text)
    }
}
