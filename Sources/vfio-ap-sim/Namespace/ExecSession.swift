import APCore
import Events
import Foundation
import Glibc
import Sysfs

/// The side of `exec` that runs inside the private mount namespace: the
/// host (its own, or a running one to attach to) over /sys, the command,
/// then the clean-up; exits with the command's status. exec enters the
/// namespace itself (PrivateNamespace) or, when it cannot, through
/// util-linux unshare and `__exec-inner`; both end here.
struct ExecSession {
    var topologyOptions: TopologyOptions
    var state: String?
    var name: String?
    var sys: SysLayout
    var hostNetwork: Bool
    var kernelCache: KernelCacheMode
    /// Attach to the running host at this control socket, whose emulated tree is `tree`.
    var attach: (socket: String, tree: String)?
    var command: [String]
    /// The network namespace being made for the command, when exec made
    /// its mount namespace itself; nil with --host-network, and under
    /// util-linux unshare (which made both).
    var network: NetworkNamespace?

    /// `outerNamespace` is exec's mount namespace before it made its own
    /// (`mnt:[N]`); this one must differ from it.
    func run(outerNamespace: String) -> Never {
        // Everything below mounts over /sys: only ever in a namespace of our own.
        guard Self.mountNamespace(of: "self").map({ $0 != outerNamespace }) ?? false else {
            fail("__exec-inner runs only inside the mount namespace exec makes")
        }
        // Replies to clients that hung up are EPIPE, not the end of the host.
        BrokenPipes.ignore()
        if let attach, let name {
            runAttached(name: name, socket: attach.socket, tree: attach.tree, scratch: makeScratch())
        } else {
            runOwnHost()
        }
    }

    /// The scratch directory, covered with this namespace's own tmpfs.
    private func makeScratch() -> String {
        let scratch: String
        do { scratch = try ExecScratch.create() } catch { fail("\(error)") }
        ExecScratch.coverWithTmpfs(scratch)
        return scratch
    }

    /// exec's own host: served here, in the namespace, until the command ends.
    private func runOwnHost() -> Never {
        // The host boots on a thread while this one makes the scratch
        // directory and udev's runtime, which do not need it.
        let (options, name, state) = (topologyOptions, self.name, self.state)
        let booting = Background {
            try HostStart.prepare(options, name: name, state: state) { t in
                HostNames.unique(base: t.name, runtimeDirectory: nil)
            }
        }
        let scratch = makeScratch()
        // Before the overlay: its check of /dev reads the mount table, short until then.
        let udev = Result { try UdevRuntime.makePrivate() }
        PhaseClock.mark("scratch and udev")
        let start: HostStart
        do {
            start = try booting.value()
            try udev.get()
        } catch {
            ExecScratch.remove(scratch)
            fail("\(error)")
        }
        PhaseClock.mark("host booted")
        let host = start.host
        // Mounted in the scratch directory in both layouts, and laid over
        // /sys only once it serves: this process's own threads read /sys
        // too (glibc and libdispatch count CPUs in
        // /sys/devices/system/cpu/online), and a FUSE request made before
        // the session has answered INIT waits for it, forever when it comes
        // from the thread that is about to serve.
        let tree = scratch + "/emulated"
        // No auto_unmount: the mounts live in this namespace and go with it
        // (fusermount3 would not take the overlay's binds down either), and
        // the helper process costs a fork and an exec.
        let server = HostServer(start, mountpoint: tree, runtimeDirectory: scratch, servedAt: "/sys", cache: kernelCache,
                                autoUnmount: false)
        // The log's own mount, on a thread while this one mounts the tree
        // and lays the overlay.
        let kmsg = KmsgDevice(host: host)
        let kmsgStarting = Background { try kmsg.start(at: scratch + "/kmsg") }
        // And the overlay's real part, read from the model (nil where the
        // kernel refuses an overlayfs: the binds of SysOverlay then, once
        // the tree serves).
        let overlayStarting = sys == .overlay ? Self.layRealPart(tree: tree, scratch: scratch, server.tree) : nil
        var laid = false
        /// A start that failed: everything taken down in order.
        func cleanUp() {
            // The overlay's binds of the FUSE tree would keep its connection alive.
            _ = try? kmsgStarting.value()
            kmsg.stop()
            if let overlayStarting, (try? overlayStarting.value()) != nil { laid = true }
            // What this session laid at /sys, known without reading the mount table.
            if laid { MountTable.detach("/sys") }
            server.mount.stop()
            server.control.stop()
            server.finish()
            Self.sealSys()
            ExecScratch.remove(scratch)
        }
        do {
            if let p = start.persistence { try server.persist(p) }
            try Self.makeDirectory(tree)
            try server.control.start()
            PhaseClock.mark("control socket")
            try server.mount.start()
            // A getattr of the root returns once INIT has been answered.
            var root = stat()
            _ = stat(tree, &root)
            PhaseClock.mark("tree mounted")
            if let real = try overlayStarting?.value() {
                try real.make()
            } else {
                try laySys(tree: tree, scratch: scratch, entries: .fromTree(server.tree, mountedAt: tree), overlayFS: false)
            }
            laid = true
            PhaseClock.mark("overlay laid")
            try kmsgStarting.value()
            PhaseClock.mark("kmsg")
            if let sink = try eventSink() { server.events.attach(sink) }
            PhaseClock.mark("kmsg and events ready")
        } catch {
            cleanUp()
            fail("\(error)")
        }
        let status = spawnCommand(host: host.name, runtimeDirectory: scratch)
        PhaseClock.mark("command ended")
        // The command has ended: no unmounting of the overlay and no orderly
        // stop of the FUSE sessions (their workers woken, joined). What waits
        // in the tree is answered as a stop answers it (a store blocked in
        // `remove` gets ENODEV), /sys is sealed over, the scratch directory's
        // mount points are detached so it can go, the state is saved, and the
        // kernel ends both sessions when this process exits (their /dev/fuse
        // descriptors close). The namespace's mounts go with its last process.
        server.mount.releaseWaiters()
        kmsg.detach()
        Self.sealSys()
        MountTable.detach(tree)
        server.control.stop()
        server.finish()
        ExecScratch.remove(scratch)
        PhaseClock.mark("left")
        Foundation.exit(status)
    }

    /// `exec --host NAME`: a running host's tree over /sys and its events
    /// in this namespace; the host serves on in its own process.
    private func runAttached(name: String, socket: String, tree: String, scratch: String) -> Never {
        var sinkID: String?
        var laid = false
        func cleanUp() {
            if let sinkID { _ = try? ControlClient(socket: socket).send("events-detach \(sinkID)") }
            if laid { MountTable.detach("/sys") }
            Self.sealSys()
            ExecScratch.remove(scratch)
        }
        do {
            // Before the overlay: its check of /dev reads the mount table, short until then.
            try UdevRuntime.makePrivate()
            try laySys(tree: tree, scratch: scratch)
            laid = true
            if let sink = try eventSink() {
                let reply = try ControlClient(socket: socket).send("events-attach", passing: sink.fileDescriptor)
                sinkID = reply.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        } catch {
            cleanUp()
            fail("\(error)")
        }
        let status = spawnCommand(host: name, runtimeDirectory: (socket as NSString).deletingLastPathComponent)
        cleanUp()
        Foundation.exit(status)
    }

    /// Once the host is gone, a child the command left running must not
    /// find the machine's sysfs at /sys: an empty read-only tmpfs covers it
    /// for the rest of the namespace's life.
    static func sealSys() {
        try? MountTable.mount("vfio-ap-sim-ended", "/sys", type: "tmpfs",
                              flags: UInt(MS_RDONLY) | UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC), data: "mode=0555")
    }

    /// The emulated tree at /sys: laid over this namespace's copy of the
    /// real /sys (made read-only first, so no path to it here is
    /// writable), or alone. A layout that fails takes its mounts down.
    private func laySys(tree: String, scratch: String, entries: EmulatedEntries = .throughMount, overlayFS: Bool = true) throws {
        if sys == .overlay {
            // Without an overlayfs layer (marks), SysOverlay binds each entry.
            let marks = overlayFS ? try Self.makeMarks(in: scratch) : nil
            try SysOverlay(emulated: tree, entries: entries).layOverReal(marks: marks)
        } else {
            try MountTable.bind(tree, "/sys", recursive: true)
        }
    }

    /// exec's own host: OverlayFSLayout's part of the overlay that needs
    /// only the model, on a thread while the tree is mounted; its value is
    /// the emulated entries' binds still to make, or nil where the kernel
    /// refused (laySys then lays SysOverlay's binds instead).
    private static func layRealPart(tree: String, scratch: String, _ model: VirtualFileSystem) -> Background<OverlayFSLayout.EmulatedBinds?> {
        Background {
            let marks = try makeMarks(in: scratch)
            return try? OverlayFSLayout(emulated: tree, entries: .fromTree(model, mountedAt: tree), marks: marks).layReal()
        }
    }

    /// The overlayfs's layer of mount points, a directory of the scratch directory.
    private static func makeMarks(in scratch: String) throws -> String {
        let marks = scratch + "/marks"
        try makeDirectory(marks)
        return marks
    }

    /// A uevent socket in the command's own network namespace (lo up), or
    /// nil with --host-network, which says that events are not delivered.
    private func eventSink() throws -> NetlinkSink? {
        if let network { return try network.join() }
        if hostNetwork {
            FileHandle.standardError.write("vfio-ap-sim: --host-network: udev events are not delivered (uevent multicast is per network namespace)\n".data(using: .utf8)!)
            return nil
        }
        do { try Loopback.up() } catch {
            // A container without CAP_NET_ADMIN: its own network namespace
            // still keeps the command off the machine's, but no multicast
            // can be sent there.
            FileHandle.standardError.write("vfio-ap-sim: \(error); udev events are not delivered (they need CAP_NET_ADMIN)\n".data(using: .utf8)!)
            return nil
        }
        return try NetlinkSink()
    }

    /// Runs the command; meanwhile what execs killed before left behind
    /// (ExecScratch) is removed.
    private func spawnCommand(host: String, runtimeDirectory: String) -> Int32 {
        // `vfio-ap-sim` itself is reachable inside, for `vfio-ap-sim dmesg` and friends.
        let exeDir = (SymbolicLink.target("/proc/self/exe") ?? "")
            .split(separator: "/").dropLast().joined(separator: "/")
        let path = (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin") + ":/" + exeDir
        return ExecScratch.removingStale { CommandChild.run(command, environment: [
            ControlPaths.hostVariable: host,
            ControlPaths.runtimeDirVariable: runtimeDirectory,
            "PATH": path,
            // sd-device refuses syspaths that are not on a sysfs file system;
            // this is systemd's own switch for test trees.
            "SYSTEMD_DEVICE_VERIFY_SYSFS": "0",
        ]) }
    }

    /// A directory of the scratch directory (0700), or an error naming it.
    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 else {
            throw UserError("cannot create the directory \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The mount namespace of a process (`self` or a pid), as /proc names it
    /// (`mnt:[4026531841]`). exec passes its own: comparing with the parent's
    /// instead fails where exec is a container's first process, whose parent
    /// is outside the container's pid namespace (getppid() is 0).
    static func mountNamespace(of process: String) -> String? {
        SymbolicLink.target("/proc/\(process)/ns/mnt")
    }
}
