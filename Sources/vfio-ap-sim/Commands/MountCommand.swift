import APCore
import ArgumentParser
import Foundation
import Glibc

/// What the kernel may cache of the tree (FuseMount.Options).
enum KernelCacheMode: String, ExpressibleByArgument, CaseIterable {
    /// Nothing: every access is a FUSE round trip.
    case off
    /// Names and attributes, invalidated exactly on every change; reads
    /// still call show() once per open, as kernfs's seq_file does.
    case names
    /// Also the text of attributes opened read-only (page cache).
    case pages
    /// Also opens and closes: the kernel answers them itself (no_open),
    /// every attribute reads through the page cache; open-time EACCES and
    /// ENODEV come from the first read or write instead.
    case noOpen = "no-open"

    var kernelCache: Bool { self != .off }
    var pageCache: Bool { self == .pages || self == .noOpen }
    var openLess: Bool { self == .noOpen }
}

/// What a tree at a mount point holds: the emulated objects alone, or the
/// machine's own /sys (read-only) with the emulated objects laid over it.
enum SysLayout: String, ExpressibleByArgument, CaseIterable {
    case emulated
    case overlay
}

struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Serve an emulated host at MOUNTPOINT until SIGINT or SIGTERM.",
        discussion: """
            MOUNTPOINT takes the place of /sys: MOUNTPOINT/bus/ap/apmask, \
            MOUNTPOINT/devices/vfio_ap/matrix/features, ... One line is printed when \
            the tree is ready, naming the host. On SIGINT or SIGTERM the tree is \
            unmounted and the command exits 0.

            With --layout overlay, MOUNTPOINT holds the machine's own /sys, read-only, \
            with the emulated AP objects laid over it: a directory a container can \
            take as its /sys (podman run -v MOUNTPOINT:/sys:rslave; docs/CONTAINERS.md).
            """)

    @OptionGroup var topologyOptions: TopologyOptions
    @OptionGroup var stateOptions: StateOptions

    @Option(name: .long, help: ArgumentHelp("The host's name, for --host of other commands (default: the topology's name and six random hex digits, so hosts never collide).", valueName: "name"))
    var name: String?

    @Option(name: .long, help: ArgumentHelp("Where the control socket goes (default: $VFIO_AP_SIM_RUNTIME_DIR, /run/vfio-ap-sim as root).", valueName: "dir"))
    var runtimeDir: String?

    @Option(name: .long, help: ArgumentHelp("emulated: the emulated tree alone; overlay: the machine's /sys (read-only) with the emulated AP objects over it.", valueName: "layout"))
    var layout: SysLayout = .emulated

    @Option(name: .long, help: ArgumentHelp("What the kernel may cache: off; names (names and attributes, the default); pages (also attribute text: fastest, but not kernfs's read semantics; docs/FIDELITY.md).", valueName: "mode"))
    var kernelCache: KernelCacheMode = .names

    @Argument(help: "An existing empty directory (for --layout overlay it may hold empty directories, e.g. the fs/cgroup a container runtime made).")
    var mountpoint: String

    func run() throws {
        BrokenPipes.ignore()
        let runtimeDirectory: String
        let start: HostStart
        do {
            // A name is a file name in the runtime directory, never a path.
            if let name { try ControlPaths.checkName(name, source: "--name") }
            let runtime = try ControlPaths.runtimeDirectory(runtimeDir)
            // A bad topology fails before the runtime directory is touched;
            // the host boots from what was read here (read once: decoding
            // the 65,536-queue topology is a third of its boot).
            let topology = stateOptions.state == nil ? try topologyOptions.load() : nil
            try runtime.prepareForServer()
            runtimeDirectory = runtime.path
            start = try HostStart.prepare(topologyOptions, loaded: topology, name: name, state: stateOptions.state) { t in
                HostNames.unique(base: t.name, runtimeDirectory: runtime.path)
            }
        } catch { fail("\(error)") }
        switch layout {
        case .emulated:
            // libfuse's handlers take the signals; they must get through.
            TerminationSignals.unblock()
            Self.recoverStaleMount(mountpoint)
            let server = HostServer(start, mountpoint: mountpoint, runtimeDirectory: runtimeDirectory, cache: kernelCache)
            do {
                if let p = start.persistence { try server.persist(p) }
                try server.control.start()
                try server.mount.mount()
            } catch {
                server.control.stop()
                fail("\(error)")
            }
            serve(server)
        case .overlay:
            serveOverlay(start, runtimeDirectory: runtimeDirectory)
        }
    }

    /// A FUSE mount whose server died answers ENOTCONN: detach it so the
    /// directory can be mounted again (only that, never a live mount).
    static func recoverStaleMount(_ path: String) {
        if access(path, F_OK) != 0 && errno == ENOTCONN { MountTable.detach(path) }
    }

    private func ready(_ server: HostServer) {
        print("vfio-ap-sim: host '\(server.host.name)' ready at \(mountpoint) (control: \(server.control.path))")
        fflush(stdout)
    }

    private func serve(_ server: HostServer) {
        ready(server)
        defer {
            server.control.stop()
            server.finish()
        }
        do { try server.mount.run() } catch { fail("\(error)") }
        // Removing libfuse's handlers set SIGPIPE back to its default; the
        // control socket still serves until the deferred stop.
        BrokenPipes.ignore()
    }

    /// The emulated tree is mounted in a scratch directory beside the
    /// control socket; MOUNTPOINT gets the overlay, which is detached before
    /// the FUSE mount goes (its binds would keep the connection alive).
    private func serveOverlay(_ start: HostStart, runtimeDirectory: String) -> Never {
        let host = start.host
        let target: String
        do { target = try OverlayTarget.check(mountpoint) } catch { fail("\(error)") }
        // Signals are taken by sigwait below, in no other thread.
        TerminationSignals.block()
        let scratch = runtimeDirectory + "/" + host.name + ".tree"
        let tree = scratch + "/emulated", staging = scratch + "/real"
        do {
            for d in [tree, staging] { try RuntimeDirectory.makeDirectories(d, what: "the directory") }
        } catch { fail("\(error)") }
        let server = HostServer(start, mountpoint: tree, runtimeDirectory: runtimeDirectory, servedAt: target,
                                cache: kernelCache)
        let stopHost = server.mount.willStop
        server.mount.willStop = {
            SysOverlay.remove(at: target)
            stopHost?()
        }
        do {
            if let p = start.persistence { try server.persist(p) }
            try server.control.start()
            try server.mount.mount()
            try server.mount.start()
            try SysOverlay(emulated: tree).lay(at: target, staging: staging)
        } catch {
            server.mount.stop()
            server.control.stop()
            try? FileManager.default.removeItem(atPath: scratch)
            fail("\(error)")
        }
        ready(server)
        TerminationSignals.wait(while: { server.mount.isMounted })
        server.mount.stop()
        server.control.stop()
        server.finish()
        try? FileManager.default.removeItem(atPath: scratch)
        Foundation.exit(0)
    }
}

/// Where `mount --layout overlay` may lay its tree: an existing directory
/// that is not the machine's /sys or anything inside it and that holds no
/// files: empty, or only empty directories, which is what a container runtime
/// leaves when a container took the directory as its /sys before the host
/// was served (runc creates `fs/cgroup` for its cgroup mount).
enum OverlayTarget {
    static func check(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else { throw UserError("\(path): \(String(cString: strerror(errno)))") }
        let real = String(cString: resolved)
        free(resolved)
        if real == "/" || real == "/sys" || real.hasPrefix("/sys/") || real == "/proc" || real.hasPrefix("/proc/") || real == "/dev" {
            throw UserError("\(path): refusing to lay an overlay over \(real)")
        }
        guard holdsOnlyDirectories(real, levels: 8) else {
            throw UserError("\(path): not an empty directory (only empty directories, such as a container runtime's fs/cgroup, may be there)")
        }
        return real
    }

    /// Whether everything below `path` (at most `levels` deep) is a directory.
    static func holdsOnlyDirectories(_ path: String, levels: Int) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else { return false }
        if entries.isEmpty { return true }
        guard levels > 0 else { return false }
        return entries.allSatisfy { name in
            var st = stat()
            let child = path + "/" + name
            return lstat(child, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR && holdsOnlyDirectories(child, levels: levels - 1)
        }
    }
}
