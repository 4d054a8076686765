import ArgumentParser
import Events
import Foundation

/// Brings a running host's udev events into the caller's network namespace
/// (a container's, say) until SIGINT or SIGTERM: a uevent netlink socket made
/// here is handed to the host, which then sends there too. Needs no
/// privileges of its own, only the host's control socket.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Deliver a running host's udev events in this network namespace until SIGINT or SIGTERM.",
        discussion: """
            For consumers outside `exec`: in a container that sees the host's tree \\
            (and its control socket), `vfio-ap-sim events --host NAME &` makes udevadm \\
            monitor, pyudev and libvirt there receive the host's events. Prints one \\
            line once attached.
            """)

    @OptionGroup var target: HostTarget

    func run() throws {
        TerminationSignals.block()
        let socket = try target.socketPath()
        let sink = try NetlinkSink()
        let id = try ControlClient(socket: socket).send("events-attach", passing: sink.fileDescriptor)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        print("vfio-ap-sim: events of \(socket) delivered here (sink \(id))")
        fflush(stdout)
        // Stop when told, or when the host goes away.
        TerminationSignals.wait(while: { (try? ControlClient(socket: socket).send("ping")) == "pong\n" })
        _ = try? ControlClient(socket: socket).send("events-detach \(id)")
    }
}
