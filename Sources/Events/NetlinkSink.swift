import Foundation
import Glibc

/// Sends udevd-format messages on NETLINK_KOBJECT_UEVENT to multicast group
/// 2 (libudev's "udev" group) in the network namespace the socket was made
/// in. Kernel-format messages (group 1) from user space are dropped by
/// libudev, so the emulator plays udevd, not the kernel.
public final class NetlinkSink: @unchecked Sendable {
    /// NETLINK_KOBJECT_UEVENT (linux/netlink.h).
    public static let kobjectUevent: Int32 = 15
    /// libudev's MONITOR_GROUP_UDEV.
    public static let udevGroup: UInt32 = 2

    private let fd: Int32
    /// The socket, e.g. to pass to a host in another process.
    public var fileDescriptor: Int32 { fd }

    /// A socket in the caller's network namespace.
    public init() throws {
        let s = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Self.kobjectUevent)
        guard s >= 0 else { throw SinkError("cannot open a uevent netlink socket: \(String(cString: strerror(errno)))") }
        var addr = NetlinkAddress(groups: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<NetlinkAddress>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(s)
            throw SinkError("cannot bind the uevent netlink socket: \(reason)")
        }
        fd = s
    }

    /// A socket made elsewhere (e.g. received over the control socket from
    /// a command in its own network namespace); the sink owns it.
    public init(adopting fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Sends one message; false when nobody can be reached any more (the
    /// namespace is gone) or the send failed otherwise.
    @discardableResult
    public func send(_ message: [UInt8]) -> Bool {
        var dst = NetlinkAddress(groups: Self.udevGroup)
        var bytes = message
        return bytes.withUnsafeMutableBytes { buf -> Bool in
            var iov = iovec(iov_base: buf.baseAddress, iov_len: buf.count)
            return withUnsafeMutablePointer(to: &dst) { dp -> Bool in
                withUnsafeMutablePointer(to: &iov) { ip -> Bool in
                    var msg = msghdr()
                    msg.msg_name = UnsafeMutableRawPointer(dp)
                    msg.msg_namelen = socklen_t(MemoryLayout<NetlinkAddress>.size)
                    msg.msg_iov = ip
                    msg.msg_iovlen = 1
                    // ECONNREFUSED just means no listener is subscribed.
                    let n = sendmsg(fd, &msg, Int32(MSG_NOSIGNAL))
                    return n >= 0 || errno == ECONNREFUSED
                }
            }
        }
    }
}

public struct SinkError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// `struct sockaddr_nl` (linux/netlink.h), which Glibc's module lacks.
struct NetlinkAddress {
    var family = UInt16(AF_NETLINK)
    var pad: UInt16 = 0
    /// 0: the kernel picks the port id.
    var pid: UInt32 = 0
    var groups: UInt32
}
