import APCore
import Foundation
import Glibc

/// What `exec` was asked to do, as plain values: ExecCommand fills it from
/// ArgumentParser, and `quick(_:)` straight from the command line, since a
/// test suite starts a host per test case and ArgumentParser's reflection
/// costs about 2 ms of every start (it asks the Swift runtime whether each
/// option's type conforms to its protocols, and each first answer scans
/// every conformance record of the binary).
struct ExecArguments: Equatable {
    var topology: String?
    var state: String?
    var name: String?
    var sys: SysLayout = .overlay
    var kernelCache: KernelCacheMode = .names
    var host: String?
    var runtimeDir: String?
    var hostNetwork = false
    /// The command and its arguments (what follows `--`).
    var command: [String] = []

    /// The plain forms only: each option at most once as `--option VALUE`
    /// (a value that does not start with '-'; one of the listed words for
    /// --sys and --kernel-cache), `--host-network`, then `--` and a command.
    /// nil for anything else (help, `--option=VALUE`, a mistake, what
    /// validation refuses), which ExecCommand then parses and reports as it
    /// always has.
    static func quick(_ arguments: [String]) -> ExecArguments? {
        var a = ExecArguments()
        var seen: [String] = []  // not a Set: its metadata costs more than the search
        var i = 0
        while i < arguments.count {
            let option = arguments[i]
            if option == "--" {
                a.command = Array(arguments[(i + 1)...])
                // `-- -- COMMAND` is ArgumentParser's to read.
                return a.command.first == nil || a.command.first == "--" || a.problem() != nil ? nil : a
            }
            guard !seen.contains(option) else { return nil }
            seen.append(option)
            if option == "--host-network" {
                a.hostNetwork = true
                i += 1
                continue
            }
            guard i + 1 < arguments.count else { return nil }
            let value = arguments[i + 1]
            guard !value.hasPrefix("-") else { return nil }
            switch option {
            case "--topology": a.topology = value
            case "--state": a.state = value
            case "--name": a.name = value
            case "--host": a.host = value
            case "--runtime-dir": a.runtimeDir = value
            case "--sys":
                guard let s = SysLayout(rawValue: value) else { return nil }
                a.sys = s
            case "--kernel-cache":
                guard let k = KernelCacheMode(rawValue: value) else { return nil }
                a.kernelCache = k
            default: return nil
            }
            i += 2
        }
        return nil
    }

    /// ExecCommand's validation, shown by ArgumentParser as a usage error.
    func problem() -> String? {
        if command.isEmpty { return "a command to run is needed: vfio-ap-sim exec -- COMMAND [ARGS...]" }
        if host != nil && (topology != nil || name != nil || state != nil) {
            return "--host attaches to a running host: it takes no --topology, --name or --state"
        }
        return nil
    }

    func run() -> Never {
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
        let entered: Bool
        do { entered = try PrivateNamespace.enter() } catch { fail("\(error)") }
        PhaseClock.mark("namespace entered")
        var topologyOptions = TopologyOptions()
        topologyOptions.topology = topology
        var session = ExecSession(topologyOptions: topologyOptions, state: state,
                                  name: host ?? name, sys: sys, hostNetwork: hostNetwork, kernelCache: kernelCache,
                                  attach: attach, command: command)
        if entered {
            // A network namespace of its own: the events reach its listeners and no one else's.
            if !hostNetwork { session.network = NetworkNamespace.start() }
            session.run(outerNamespace: outer)
        }
        runThroughUnshare(session, outerNamespace: outer)
    }

    /// A thread was running already, so this process cannot have a mount
    /// namespace of its own: util-linux unshare makes it and runs
    /// `__exec-inner`, which is single-threaded at that point.
    private func runThroughUnshare(_ session: ExecSession, outerNamespace outer: String) -> Never {
        let exe = SymbolicLink.target("/proc/self/exe") ?? CommandLine.arguments[0]
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
            if let topology { args += ["--topology", topology] }
            if let state { args += ["--state", state] }
        }
        if let n = session.name { args += ["--name", n] }
        args += ["--sys", sys.rawValue]
        args += ["--"] + session.command
        let cargs = args.map { strdup($0) } + [nil]
        execv(unshare, cargs)
        fail("cannot run \(unshare): \(String(cString: strerror(errno)))")
    }
}
