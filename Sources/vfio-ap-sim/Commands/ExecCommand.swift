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

    @Option(name: .long, help: ArgumentHelp("What the kernel may cache: off, names (default), pages (see `mount --help`).", valueName: "mode"))
    var kernelCache: KernelCacheMode = .names

    @Option(name: .long, help: ArgumentHelp("Attach to this running host (a `vfio-ap-sim mount`) instead of booting one: COMMAND gets its tree and its events. Any number of commands may attach at once.", valueName: "name"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("Where --host's control socket is (default: $VFIO_AP_SIM_RUNTIME_DIR, /run/vfio-ap-sim as root).", valueName: "dir"))
    var runtimeDir: String?

    @Flag(name: .long, help: "Keep the machine's network instead of a network namespace of the command's own; udev events are then not delivered (uevent multicast is per network namespace).")
    var hostNetwork = false

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after `--`.")
    var command: [String] = []

    func validate() throws {
        if ExecCommand.strip(command).isEmpty { throw ValidationError("a command to run is needed: vfio-ap-sim exec -- COMMAND [ARGS...]") }
        if host != nil && (topologyOptions.topology != nil || name != nil || stateOptions.state != nil) {
            throw ValidationError("--host attaches to a running host: it takes no --topology, --name or --state")
        }
    }

    static func strip(_ c: [String]) -> [String] { c.first == "--" ? Array(c.dropFirst()) : c }

    func run() throws {
        PhaseClock.mark("exec started")
        // Find the host to attach to; exec's own host boots inside the namespace.
        var attach: (socket: String, tree: String)?
        if let host {
            let info: [String: String]
            let socket: String
            do {
                let runtime = try ControlPaths.runtimeDirectory(runtimeDir)
                try runtime.checkForClient()
                socket = try ControlPaths.socket(host: host, directory: runtime.path, source: "--host")
            } catch { fail("\(error)") }
            do { info = ControlServer.fields(try ControlClient(socket: socket).send("info")) } catch {
                fail("no host '\(host)' to attach to: \(error)")
            }
            guard let tree = info["tree"] else { fail("host '\(host)' did not say where its tree is") }
            attach = (socket, tree)
        } else if let name {
            do { try ControlPaths.checkName(name, source: "--name") } catch { fail("\(error)") }
        }
        // The session mounts over /sys only in a namespace other than this one.
        guard let outer = ExecSession.mountNamespace(of: "self") else { fail("cannot read /proc/self/ns/mnt") }
        // A network namespace of its own: the events reach its listeners and no one else's.
        let entered: Bool
        do { entered = try PrivateNamespace.enter(network: !hostNetwork) } catch { fail("\(error)") }
        PhaseClock.mark("namespace entered")
        let session = ExecSession(topologyOptions: topologyOptions, state: stateOptions.state,
                                  name: host ?? name, sys: sys, hostNetwork: hostNetwork, kernelCache: kernelCache,
                                  attach: attach, command: ExecCommand.strip(command))
        if entered { session.run(outerNamespace: outer) }
        runThroughUnshare(session, outerNamespace: outer)
    }

    /// A thread was running already, so this process cannot have a mount
    /// namespace of its own: util-linux unshare makes it and runs
    /// `__exec-inner`, which is single-threaded at that point.
    private func runThroughUnshare(_ session: ExecSession, outerNamespace outer: String) -> Never {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        guard let unshare = ["/usr/bin/unshare", "/bin/unshare"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            fail("util-linux unshare is needed for exec (apt-get install util-linux)")
        }
        var args = [unshare, "--mount", "--propagation", "private"] + (hostNetwork ? [] : ["--net"])
            + ["--", exe, "__exec-inner", "--outer-namespace", outer]
        if hostNetwork { args.append("--host-network") }
        if let attach = session.attach {
            args += ["--attach", attach.socket, "--tree", attach.tree]
        } else {
            args += ["--kernel-cache", kernelCache.rawValue]
            if let t = topologyOptions.topology { args += ["--topology", t] }
            if let s = stateOptions.state { args += ["--state", s] }
        }
        if let n = session.name { args += ["--name", n] }
        args += ["--sys", sys.rawValue]
        args += ["--"] + session.command
        let cargs = args.map { strdup($0) } + [nil]
        execv(unshare, cargs)
        fail("cannot run \(unshare): \(String(cString: strerror(errno)))")
    }
}
