import Foundation
import Glibc

/// A host's control socket spoken to byte by byte, for tests that misbehave
/// on purpose (hang up early, never finish a line, hold connections open).
/// Every call is bounded in time.
public enum ControlSocket {
    /// A connected socket (close-on-exec), or nil with errno set.
    public static func connect(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let saved = errno
            close(fd)
            errno = saved
            return nil
        }
        return fd
    }

    /// Sends everything it can (MSG_NOSIGNAL); returns the bytes sent.
    @discardableResult
    public static func send(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        return sent
    }

    @discardableResult
    public static func send(_ fd: Int32, _ text: String) -> Int { send(fd, Array(text.utf8)) }

    /// Reads until EOF or `timeout` seconds; `eof` says which.
    public static func readAll(_ fd: Int32, timeout: TimeInterval) -> (text: String, eof: Bool) {
        var data = [UInt8]()
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return (String(decoding: data, as: UTF8.self), false) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(max(1, left * 1000)))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return (String(decoding: data, as: UTF8.self), true) }
            data += buffer[0..<n]
        }
    }

    /// One request: its whole reply (`OK\n...` or `ERR ...\n`), or nil when
    /// the host did not close the connection within `timeout` seconds.
    public static func request(_ path: String, _ line: String, timeout: TimeInterval = 10) -> String? {
        guard let fd = connect(path) else { return nil }
        defer { close(fd) }
        send(fd, line + "\n")
        let r = readAll(fd, timeout: timeout)
        return r.eof ? r.text : nil
    }

    /// A Unix socket listening at `path` that never accepts (a host that
    /// stopped serving): connections queue in its backlog.
    public static func deafListener(_ path: String, backlog: Int32) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else { close(fd); return nil }
        return fd
    }
}

/// Facts about a running process, from /proc.
public enum ProcessInfoFile {
    /// `Threads:` of /proc/PID/status.
    public static func threads(_ pid: Int32) -> Int? {
        for line in ProcFile.read("/proc/\(pid)/status").split(separator: "\n") where line.hasPrefix("Threads:") {
            return Int(line.dropFirst(8).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// How many file descriptors the process has open.
    public static func openFiles(_ pid: Int32) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }
}
