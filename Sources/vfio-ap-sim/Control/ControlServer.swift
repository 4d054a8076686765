import Foundation
import Glibc

/// A host's control interface: a Unix stream socket, mode 0600, so only its
/// owner can use it. One request line per connection; the reply is `OK` or
/// `ERR <message>` on the first line, then the output until EOF
/// (docs/CONTROL.md).
final class ControlServer: @unchecked Sendable {
    let path: String
    /// A request line and the file descriptors that came with it (the
    /// handler owns them).
    private let handler: @Sendable (String, [Int32]) -> Result<String, UserError>
    private var listener: Int32 = -1
    private var thread: Thread?

    init(path: String, handler: @escaping @Sendable (String, [Int32]) -> Result<String, UserError>) {
        self.path = path
        self.handler = handler
    }

    func start() throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        if let probe = try? ControlClient(socket: path).send("ping"), probe == "pong\n" {
            let info = Self.fields((try? ControlClient(socket: path).send("info")) ?? "")
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            throw UserError("a host named '\(name)' is already running at \(info["mountpoint"] ?? "?")"
                + " (pid \(info["pid"] ?? "?"), control socket \(path)): give this one another --name, or stop that one")
        }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UserError("cannot create control socket: \(String(cString: strerror(errno)))") }
        var addr = try ControlClient.address(path)
        let oldMask = umask(0o177)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(oldMask)
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw UserError("cannot listen on \(path): \(reason)")
        }
        listener = fd
        let t = Thread { [self] in acceptLoop(fd) }
        t.name = "control"
        t.start()
        thread = t
    }

    /// `key value` lines (the `info` reply) as a dictionary.
    static func fields(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            out[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        return out
    }

    func stop() {
        if listener >= 0 {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
            listener = -1
            unlink(path)
        }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let conn = accept(fd, nil, nil)
            if conn < 0 {
                if errno == EINTR { continue }
                return
            }
            let t = Thread { [self] in serve(conn) }
            t.start()
        }
    }

    private func serve(_ conn: Int32) {
        defer { close(conn) }
        // The first byte comes with any fd the client passed (SCM_RIGHTS).
        guard let first = FileDescriptorPassing.receive(conn, max: 1) else { return }
        var request = first.bytes.first == 0x0a ? [] : first.bytes
        var byte: UInt8 = 0
        if first.bytes.first != 0x0a {
            while read(conn, &byte, 1) == 1, byte != 0x0a { request.append(byte) }
        }
        let line = String(decoding: request, as: UTF8.self)
        let reply: String
        if line == "ping" {
            reply = "OK\npong\n"
        } else {
            switch handler(line, first.fds) {
            case .success(let out): reply = "OK\n" + out
            case .failure(let e): reply = "ERR \(e.description)\n"
            }
        }
        var bytes = Array(reply.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(conn, $0.baseAddress! + sent, $0.count - sent) }
            if n <= 0 { break }
            sent += n
        }
    }
}
