import APCore
import ArgumentParser
import Foundation

struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Serve an emulated host at MOUNTPOINT until SIGINT or SIGTERM.",
        discussion: """
            MOUNTPOINT takes the place of /sys: MOUNTPOINT/bus/ap/apmask, \
            MOUNTPOINT/devices/vfio_ap/matrix/features, ... One line is printed when \
            the tree is ready. On SIGINT or SIGTERM the tree is unmounted and the \
            command exits 0.
            """)

    @OptionGroup var topologyOptions: TopologyOptions

    @Option(name: .long, help: ArgumentHelp("The host's name, for --host of other commands (default: the topology's name).", valueName: "name"))
    var name: String?

    @Option(name: .long, help: ArgumentHelp("Where the control socket goes (default: $VFIO_AP_SIM_RUNTIME_DIR, /run/vfio-ap-sim as root).", valueName: "dir"))
    var runtimeDir: String?

    @Argument(help: "An existing empty directory.")
    var mountpoint: String

    func run() throws {
        let host: S390Host
        do { host = try topologyOptions.boot(name: name) } catch { fail("\(error)") }
        let server = HostServer(host: host, mountpoint: mountpoint,
                                runtimeDirectory: ControlPaths.runtimeDirectory(runtimeDir))
        do {
            try server.control.start()
            try server.mount.mount()
        } catch {
            server.control.stop()
            fail("\(error)")
        }
        print("vfio-ap-sim: host '\(host.name)' ready at \(mountpoint) (control: \(server.control.path))")
        fflush(stdout)
        defer { server.control.stop() }
        do { try server.mount.run() } catch { fail("\(error)") }
    }
}
