import ArgumentParser
import Foundation

/// Where hosts' control sockets live: `$VFIO_AP_SIM_RUNTIME_DIR`, else
/// /run/vfio-ap-sim for root and `$XDG_RUNTIME_DIR/vfio-ap-sim` (or
/// /tmp/vfio-ap-sim-UID) for others. Each host has `<dir>/<name>.sock`.
enum ControlPaths {
    static let runtimeDirVariable = "VFIO_AP_SIM_RUNTIME_DIR"
    static let hostVariable = "VFIO_AP_SIM_HOST"

    static func runtimeDirectory(_ override: String? = nil) -> String {
        if let override { return override }
        let env = ProcessInfo.processInfo.environment
        if let dir = env[runtimeDirVariable], !dir.isEmpty { return dir }
        if geteuid() == 0 { return "/run/vfio-ap-sim" }
        if let xdg = env["XDG_RUNTIME_DIR"], !xdg.isEmpty { return xdg + "/vfio-ap-sim" }
        return "/tmp/vfio-ap-sim-\(geteuid())"
    }

    static func socket(host: String, directory: String) -> String { "\(directory)/\(host).sock" }
}

/// `--host NAME` and `--runtime-dir DIR`: which running host a command talks to.
struct HostTarget: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The emulated host, by name. Default: $VFIO_AP_SIM_HOST (set inside `exec`), or the only running host.", valueName: "name"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("Where control sockets live (default: $VFIO_AP_SIM_RUNTIME_DIR, /run/vfio-ap-sim as root).", valueName: "dir"))
    var runtimeDir: String?

    func socketPath() throws -> String {
        let dir = ControlPaths.runtimeDirectory(runtimeDir)
        if let name = host ?? ProcessInfo.processInfo.environment[ControlPaths.hostVariable] {
            return ControlPaths.socket(host: name, directory: dir)
        }
        let sockets = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".sock") }
        guard sockets.count == 1 else {
            throw UserError(sockets.isEmpty ? "no emulated host is running (no control socket in \(dir))"
                : "several hosts are running (\(sockets.map { String($0.dropLast(5)) }.sorted().joined(separator: ", "))): name one with --host")
        }
        return dir + "/" + sockets[0]
    }
}
