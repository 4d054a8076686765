import Glibc

/// A process's command name (`/proc/PID/comm`, `task->comm`: at most 15
/// bytes), for kernel messages that name a writer.
enum ProcessName {
    static func command(of pid: Int32) -> String {
        let fd = open("/proc/\(pid)/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return "" }
        var bytes = Array(buffer[0..<n])
        if bytes.last == 0x0a { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
