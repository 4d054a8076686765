import Glibc

/// A fresh network namespace has `lo` down; bring it up so commands that
/// talk to localhost (libvirtd's sockets are Unix, but others are not) work.
enum Loopback {
    static func up() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UserError("cannot bring lo up: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var req = ifreq()
        withUnsafeMutableBytes(of: &req.ifr_ifrn.ifrn_name) { raw in
            for (i, b) in "lo".utf8.enumerated() { raw[i] = b }
        }
        guard ioctl(fd, UInt(SIOCGIFFLAGS), &req) == 0 else { throw UserError("cannot read lo's flags: \(String(cString: strerror(errno)))") }
        req.ifr_ifru.ifru_flags |= Int16(IFF_UP) | Int16(IFF_RUNNING)
        guard ioctl(fd, UInt(SIOCSIFFLAGS), &req) == 0 else { throw UserError("cannot bring lo up: \(String(cString: strerror(errno)))") }
    }
}
