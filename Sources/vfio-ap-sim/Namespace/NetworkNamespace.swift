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
final class NetworkNamespace: @unchecked Sendable {
    /// What the thread made: the namespace (a descriptor) and the uevent
    /// socket, or why not.
    private var namespace: Int32 = -1
    private var sink: NetlinkSink?
    private var failure: String?
    /// Why events are not delivered though the namespace was made.
    private var warning: String?
    private let made = DispatchSemaphore(value: 0)

    /// Starts making the namespace.
    static func start() -> NetworkNamespace {
        let n = NetworkNamespace()
        Thread.detachNewThread { n.make() }
        return n
    }

    private func make() {
        defer { made.signal() }
        guard PrivateNamespace.unshare(PrivateNamespace.newNetwork) == 0 else {
            failure = "unshare failed: \(String(cString: strerror(errno)))"
            return
        }
        // This thread's namespace, for the main thread to enter.
        namespace = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard namespace >= 0 else {
            failure = "cannot open the new network namespace: \(String(cString: strerror(errno)))"
            return
        }
        do { try Loopback.up() } catch {
            // A container without CAP_NET_ADMIN: its own network namespace
            // still keeps the command off the machine's, but no multicast
            // can be sent there.
            warning = "\(error); udev events are not delivered (they need CAP_NET_ADMIN)"
            return
        }
        do { sink = try NetlinkSink() } catch { failure = "\(error)" }
    }

    /// Waits for the thread, enters its namespace and returns the uevent
    /// socket (nil, with a warning on stderr, where events cannot be sent).
    func join() throws -> NetlinkSink? {
        made.wait()
        defer { if namespace >= 0 { close(namespace); namespace = -1 } }
        if let failure { throw UserError(failure) }
        guard PrivateNamespace.setns(namespace, PrivateNamespace.newNetwork) == 0 else {
            throw UserError("cannot enter the new network namespace: \(String(cString: strerror(errno)))")
        }
        if let warning { FileHandle.standardError.write(Data("vfio-ap-sim: \(warning)\n".utf8)) }
        return sink
    }
}
