import Foundation
import Glibc

/// A host's control interface: a Unix stream socket, mode 0600, so only its
/// owner can use it. One request line per connection; the reply is `OK` or
/// `ERR <message>` on the first line, then the output until EOF
/// (docs/CONTROL.md).
///
/// Limits (docs/CONTROL.md, docs/RELIABILITY.md): a request line is at most
/// `maximumRequest` bytes; it must be complete within the idle timeout;
/// at most `maximumConnections` are served at once (others are answered
/// `ERR busy` at once); every fd is close-on-exec; replies never raise
/// SIGPIPE; accept() failing (EMFILE, ECONNABORTED, ...) is retried.
final class ControlServer: @unchecked Sendable {
    /// Bounds what one connection makes the host hold, with room for the
    /// longest request the project's own clients send: an `mdev write` of
    /// `RemotePeer.maximumWrite` bytes, two hex digits a byte, and its words.
    static let maximumRequest = 2 * RemotePeer.maximumWrite + 4096
    static let maximumConnections = 64

    let path: String
    /// A request line and the file descriptors that came with it (the
    /// handler owns them).
    private let handler: @Sendable (String, [Int32]) -> Result<String, UserError>
    private let lock = NSLock()
    private var listener: Int32 = -1
    private var stopping = false
    private var active = 0
    private let timeout = ControlTimeout.seconds

    init(path: String, handler: @escaping @Sendable (String, [Int32]) -> Result<String, UserError>) {
        self.path = path
        self.handler = handler
    }

    /// Listens at `path`, whose directory must exist (RuntimeDirectory).
    func start() throws {
        if let probe = try? ControlClient(socket: path).send("ping"), probe == "pong\n" {
            let info = Self.fields((try? ControlClient(socket: path).send("info")) ?? "")
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            throw UserError("a host named '\(name)' is already running at \(info["mountpoint"] ?? "?")"
                + " (pid \(info["pid"] ?? "?"), control socket \(path)): give this one another --name, or stop that one")
        }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UserError("cannot create control socket: \(String(cString: strerror(errno)))") }
        var addr = try ControlClient.address(path)
        let oldMask = umask(0o177)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(oldMask)
        // Room for a burst of clients (a connect() into a full backlog
        // waits, or fails EAGAIN when non-blocking).
        guard bound == 0, listen(fd, 128) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw UserError("cannot listen on \(path): \(reason)")
        }
        listener = fd
        let t = Thread { [self] in acceptLoop(fd) }
        t.name = "control"
        t.start()
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
        lock.lock()
        stopping = true
        let fd = listener
        listener = -1
        lock.unlock()
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
            unlink(path)
        }
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private typealias Accept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32
    /// glibc's accept4 (hidden from Swift without _GNU_SOURCE).
    private static let accept4: Accept4? = dlsym(nil, "accept4").map { unsafeBitCast($0, to: Accept4.self) }

    /// accept() whose connection is close-on-exec from the start: no
    /// command the host spawns meanwhile inherits it.
    private static func acceptCloseOnExec(_ fd: Int32) -> Int32 {
        if let accept4 { return accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue)) }
        let conn = accept(fd, nil, nil)
        if conn >= 0 { _ = fcntl(conn, F_SETFD, FD_CLOEXEC) }
        return conn
    }

    private func acceptLoop(_ fd: Int32) {
        var failing: Int32 = 0
        while true {
            let conn = Self.acceptCloseOnExec(fd)
            if conn < 0 {
                let code = errno
                if code == EINTR { continue }
                if isStopping { return }
                // EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED, EPROTO...:
                // the connection waits in the backlog; try again shortly.
                if code != failing {
                    FileHandle.standardError.write("vfio-ap-sim: control socket \(path): accept() failed: \(String(cString: strerror(code))); retrying\n".data(using: .utf8)!)
                    failing = code
                }
                usleep(100_000)
                continue
            }
            failing = 0
            lock.lock()
            let admitted = active < Self.maximumConnections
            if admitted { active += 1 }
            lock.unlock()
            guard admitted else {
                // Answered here without reading: never blocks the loop.
                let busy = Array("ERR busy: \(Self.maximumConnections) connections are open\n".utf8)
                _ = busy.withUnsafeBytes { send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                close(conn)
                continue
            }
            let t = Thread { [self] in
                serve(conn)
                lock.lock()
                active -= 1
                lock.unlock()
            }
            t.start()
        }
    }

    /// Reads the request line in chunks until `\n`, at most
    /// `maximumRequest` bytes and `timeout` seconds; bytes after the line
    /// are ignored (one request per connection).
    private func readRequest(_ conn: Int32) -> (line: String, fds: [Int32])? {
        let deadline = Date().addingTimeInterval(timeout)
        var request: [UInt8] = []
        var fds: [Int32] = []
        var first = true
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else {
                reply(conn, "ERR no complete request line within \(ControlTimeout.describe(timeout))\n")
                for fd in fds { close(fd) }
                return nil
            }
            var p = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left * 1000 + 1, Double(Int32.max))))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let chunk: [UInt8]
            if first {
                // The first bytes come with any fd the client passed (SCM_RIGHTS).
                guard let r = FileDescriptorPassing.receive(conn, max: 4096) else { return nil }
                chunk = r.bytes
                fds = r.fds
                first = false
            } else {
                var buffer = [UInt8](repeating: 0, count: 16384)
                let n = buffer.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    for fd in fds { close(fd) }
                    return nil
                }
                chunk = Array(buffer[0..<n])
            }
            if let newline = chunk.firstIndex(of: 0x0a) {
                request += chunk[..<newline]
                if request.count <= Self.maximumRequest { return (String(decoding: request, as: UTF8.self), fds) }
            } else {
                request += chunk
            }
            if request.count > Self.maximumRequest {
                reply(conn, "ERR request too long (more than \(Self.maximumRequest) bytes)\n")
                for fd in fds { close(fd) }
                return nil
            }
        }
    }

    private func serve(_ conn: Int32) {
        defer { close(conn) }
        // A client that does not read its reply is given up after the timeout.
        var tv = ControlTimeout.timeval(timeout)
        setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard let (line, fds) = readRequest(conn) else { return }
        let text: String
        if line == "ping" {
            for fd in fds { close(fd) }
            text = "OK\npong\n"
        } else {
            switch handler(line, fds) {
            case .success(let out): text = "OK\n" + out
            case .failure(let e): text = "ERR \(e.description)\n"
            }
        }
        reply(conn, text)
    }

    /// Writes all of `text` unless the client has gone (EPIPE without
    /// SIGPIPE) or stopped reading (SO_SNDTIMEO).
    private func reply(_ conn: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(conn, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            sent += n
        }
    }
}

/// How long either side of a control connection waits: for the request
/// line (server), for connect() and each read of the reply (client).
/// 10 s; `$VFIO_AP_SIM_CONTROL_TIMEOUT` (seconds, > 0) changes it.
enum ControlTimeout {
    static let variable = "VFIO_AP_SIM_CONTROL_TIMEOUT"

    static var seconds: Double {
        if let text = ProcessInfo.processInfo.environment[variable], let v = Double(text), v > 0, v.isFinite { return v }
        return 10
    }

    static func describe(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }

    static func timeval(_ seconds: Double) -> Glibc.timeval {
        Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
    }
}
