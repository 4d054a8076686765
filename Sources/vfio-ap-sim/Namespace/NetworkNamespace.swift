import Events
import Foundation
import Glibc

/// exec's network namespace, made on a thread of its own while the host
/// boots. A new network namespace costs the kernel about 0.7 ms
/// (`setup_net` of every pernet subsystem), and unlike a mount namespace
/// it can be entered by one thread of a process: the thread makes it,
/// brings `lo` up and opens the uevent socket there; the main thread
/// enters it with setns(2) in `join()`, before the command starts (a child
/// starts in the namespaces of the thread that spawns it). The host's
/// threads stay in the machine's network namespace, which they never use:
/// its uevents go out through the socket opened here.
final class NetworkNamespace {
    /// What the thread made: the namespace (a descriptor), the uevent
    /// socket, and why events are not delivered if it could make none.
    private struct Made {
        var namespace: Int32
        var sink: NetlinkSink?
        var warning: String?
    }

    private let making: Background<Made>

    private init() { making = Background(Self.make) }

    /// Starts making the namespace.
    static func start() -> NetworkNamespace { NetworkNamespace() }

    private static func make() throws -> Made {
        guard PrivateNamespace.unshare(PrivateNamespace.newNetwork) == 0 else {
            throw UserError("unshare failed: \(String(cString: strerror(errno)))")
        }
        // This thread's namespace, for the main thread to enter.
        let namespace = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard namespace >= 0 else {
            throw UserError("cannot open the new network namespace: \(String(cString: strerror(errno)))")
        }
        do { try Loopback.up() } catch {
            // A container without CAP_NET_ADMIN: its own network namespace
            // still keeps the command off the machine's, but no multicast
            // can be sent there.
            return Made(namespace: namespace, warning: "\(error); udev events are not delivered (they need CAP_NET_ADMIN)")
        }
        do { return Made(namespace: namespace, sink: try NetlinkSink()) } catch {
            close(namespace)
            throw UserError("\(error)")
        }
    }

    /// Waits for the thread, enters its namespace and returns the uevent
    /// socket (nil, with a warning on stderr, where events cannot be sent).
    /// Called once.
    func join() throws -> NetlinkSink? {
        let made = try making.value()
        defer { close(made.namespace) }
        guard PrivateNamespace.setns(made.namespace, PrivateNamespace.newNetwork) == 0 else {
            throw UserError("cannot enter the new network namespace: \(String(cString: strerror(errno)))")
        }
        if let warning = made.warning { FileHandle.standardError.write(Data("vfio-ap-sim: \(warning)\n".utf8)) }
        return made.sink
    }
}
