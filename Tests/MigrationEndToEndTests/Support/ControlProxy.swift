import Foundation
import Glibc
import TestSupport

/// A control socket standing in front of a host's real one, so a test can
/// act at an exact request: `intercept` sees each request line before it
/// is passed on and may kill the host behind; once it returns `false` the
/// proxy is "the dead host" itself: the connection is closed without an
/// answer and the socket is gone (later clients find nothing to connect to).
/// `answer` may reply in the host's place (an `ERR ...` line): the request
/// never reaches the host, which stays up.
final class ControlProxy: @unchecked Sendable {
    let path: String
    let target: String
    private let intercept: (String) -> Bool
    private let answer: (String) -> String?
    private let lock = NSLock()
    private var listener: Int32 = -1
    private(set) var requests: [String] = []

    init(path: String, target: String, answer: @escaping (String) -> String? = { _ in nil },
         intercept: @escaping (String) -> Bool = { _ in true }) throws {
        self.path = path
        self.target = target
        self.intercept = intercept
        self.answer = answer
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in Array(path.utf8).prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else {
            throw FixtureError(description: "proxy \(path): \(String(cString: strerror(errno)))")
        }
        listener = fd
        let t = Thread { [self] in acceptLoop(fd) }
        t.start()
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            serve(c)
        }
    }

    /// One request at a time, as the migration driver sends them.
    private func serve(_ c: Int32) {
        defer { close(c) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !line.contains(0x0a) {
            let n = buffer.withUnsafeMutableBytes { read(c, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            line += buffer[0..<n]
        }
        let request = String(decoding: line.prefix { $0 != 0x0a }, as: UTF8.self)
        lock.lock()
        requests.append(request)
        lock.unlock()
        guard intercept(request) else {
            stop()
            return
        }
        if let reply = answer(request) {
            ControlSocket.send(c, Array(reply.utf8))
            return
        }
        guard let upstream = ControlSocket.connect(target) else { return }
        defer { close(upstream) }
        ControlSocket.send(upstream, line)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(upstream, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            ControlSocket.send(c, Array(buffer[0..<n]))
        }
    }

    /// The proxy's socket goes away, as a dead host's listener does.
    func stop() {
        lock.lock()
        let fd = listener
        listener = -1
        lock.unlock()
        guard fd >= 0 else { return }
        unlink(path)
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    var seen: [String] {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }
}
