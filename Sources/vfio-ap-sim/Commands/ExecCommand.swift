import APCore
import ArgumentParser
import Foundation
import StateStore

struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run COMMAND with a private emulated host at /sys.",
        discussion: """
            COMMAND runs in a private mount namespace (unshare(2)) whose /sys is \
            the machine's own, read-only, with the emulated AP objects laid over it \
            (bus/ap, bus/matrix, bus/mdev, devices/ap, devices/vfio_ap, class/mdev_bus, \
            class/vfio-dev, kernel/iommu_groups, module/vfio_ap, module/zcrypt_cex4), \
            as an s390 host has both; --sys emulated gives the emulated tree alone. \
            Unmodified tools find it at their real paths. Nothing outside the namespace \
            changes; the host stops with the command, and exec exits with COMMAND's \
            status. Inside, VFIO_AP_SIM_HOST names the host, so `vfio-ap-sim dmesg` \
            needs no options. The command gets a network namespace of its own (loopback \
            up) where the host sends udev events for every change, as udevd does, so \
            udevadm monitor, pyudev and libvirt see devices come and go; libudev is told \
            to accept the tree (SYSTEMD_DEVICE_VERIFY_SYSFS=0) and finds a private \
            /run/udev. Needs root.
            """)

    @OptionGroup var topologyOptions: TopologyOptions
    @OptionGroup var stateOptions: StateOptions

    @Option(name: .long, help: ArgumentHelp("The host's name (default: the topology's name and six random hex digits).", valueName: "name"))
    var name: String?

    @Option(name: .long, help: ArgumentHelp("overlay: the machine's /sys (read-only) with the emulated AP objects over it; emulated: the emulated tree alone.", valueName: "layout"))
    var sys: SysLayout = .overlay

    @Option(name: .long, help: ArgumentHelp("What the kernel may cache: off, names (default), pages, no-open (see `mount --help`).", valueName: "mode"))
    var kernelCache: KernelCacheMode = .names

    @Option(name: .long, help: ArgumentHelp("Attach to this running host (a `vfio-ap-sim mount`) instead of booting one: COMMAND gets its tree and its events. Any number of commands may attach at once.", valueName: "name"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("Where --host's control socket is (default: $VFIO_AP_SIM_RUNTIME_DIR, /run/vfio-ap-sim as root).", valueName: "dir"))
    var runtimeDir: String?

    @Flag(name: .long, help: "Keep the machine's network instead of a network namespace of the command's own; udev events are then not delivered (uevent multicast is per network namespace).")
    var hostNetwork = false

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after `--`.")
    var command: [String] = []

    /// The same values, for the code that runs exec.
    var arguments: ExecArguments {
        ExecArguments(topology: topologyOptions.topology, state: stateOptions.state, name: name, sys: sys,
                      kernelCache: kernelCache, host: host, runtimeDir: runtimeDir, hostNetwork: hostNetwork,
                      command: ExecCommand.strip(command))
    }

    func validate() throws {
        if let problem = arguments.problem() { throw ValidationError(problem) }
    }

    static func strip(_ c: [String]) -> [String] { c.first == "--" ? Array(c.dropFirst()) : c }

    func run() throws { arguments.run() }
}
