import Foundation
import Glibc

/// Sends one request line to a host's control socket. Neither connect()
/// nor a read of the reply waits longer than the control timeout
/// (`ControlTimeout`, 10 s): a host that stopped serving is reported
/// (`HostUnreachable`), not waited for forever. The host's own refusals
/// (`ERR ...`) are `UserError`s.
struct ControlClient {
    /// No connection, no answer in time, or the connection ended before a
    /// status line: the host is not there (any more).
    struct HostUnreachable: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    let socket: String

    static func address(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw UserError("control socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return addr
    }

    /// The output of the request, or the host's error; `passing` goes with
    /// the request as SCM_RIGHTS (the host then owns its copy).
    func send(_ request: String, passing: Int32? = nil) throws -> String {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UserError("cannot create socket") }
        defer { close(fd) }
        let timeout = ControlTimeout.seconds
        // SO_SNDTIMEO bounds a connect() into a full backlog (EAGAIN) and
        // writes; SO_RCVTIMEO each read of the reply.
        var tv = ControlTimeout.timeval(timeout)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = try Self.address(socket)
        var connected: Int32
        repeat {
            connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        } while connected != 0 && errno == EINTR
        guard connected == 0 || errno == EISCONN else {
            if errno == EAGAIN || errno == EINPROGRESS {
                throw HostUnreachable("cannot reach the host at \(socket): it did not accept the connection within \(ControlTimeout.describe(timeout))")
            }
            throw HostUnreachable("cannot reach the host at \(socket): \(String(cString: strerror(errno)))")
        }
        var line = Array((request + "\n").utf8)
        if let passing {
            guard FileDescriptorPassing.send(fd, [line.removeFirst()], fd: passing) else {
                throw UserError("cannot pass a file descriptor to the host at \(socket)")
            }
        }
        // A host that refuses early (ERR busy, request too long) may close
        // before it has read everything: its reply is still read below.
        var sent = 0
        while sent < line.count {
            let n = line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            sent += n
        }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw HostUnreachable("the host at \(socket) did not answer within \(ControlTimeout.describe(timeout))")
            }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let newline = text.firstIndex(of: "\n") else { throw HostUnreachable("no answer from the host at \(socket)") }
        let status = text[..<newline]
        let body = String(text[text.index(after: newline)...])
        if status == "OK" { return body }
        throw UserError(status.hasPrefix("ERR ") ? String(status.dropFirst(4)) : String(status))
    }
}
