import APCore
import ArgumentParser
import Foundation
import Glibc

/// Where hosts' control sockets live: `--runtime-dir`, else
/// `$VFIO_AP_SIM_RUNTIME_DIR`, else /run/vfio-ap-sim for root and
/// `$XDG_RUNTIME_DIR/vfio-ap-sim` (or /tmp/vfio-ap-sim-UID) for others. Each
/// host has `<dir>/<name>.sock`; a name is never a path (HostNameRule).
enum ControlPaths {
    static let runtimeDirVariable = "VFIO_AP_SIM_RUNTIME_DIR"
    static let hostVariable = "VFIO_AP_SIM_HOST"

    /// `--runtime-dir DIR`, or nil for the variable or the default.
    static func runtimeDirectory(_ override: String? = nil) throws -> RuntimeDirectory {
        if let override {
            guard !override.isEmpty else { throw UserError("--runtime-dir is empty: name a directory") }
            return RuntimeDirectory(path: override, isDefault: false)
        }
        let env = ProcessInfo.processInfo.environment
        if let dir = env[runtimeDirVariable], !dir.isEmpty { return RuntimeDirectory(path: dir, isDefault: false) }
        if geteuid() == 0 { return RuntimeDirectory(path: "/run/vfio-ap-sim", isDefault: true) }
        if let xdg = env["XDG_RUNTIME_DIR"], !xdg.isEmpty { return RuntimeDirectory(path: xdg + "/vfio-ap-sim", isDefault: true) }
        return RuntimeDirectory(path: "/tmp/vfio-ap-sim-\(geteuid())", isDefault: true)
    }

    /// `<directory>/<host>.sock`; `source` names where the name came from
    /// (`--name`, `--host`, ...) in the refusal of a bad one.
    static func socket(host: String, directory: String, source: String = "--host") throws -> String {
        try checkName(host, source: source)
        guard !directory.isEmpty else { throw UserError("--runtime-dir is empty: name a directory") }
        return "\(directory)/\(host).sock"
    }

    static func checkName(_ name: String, source: String) throws {
        guard HostNameRule.isValid(name) else {
            throw UserError("\(source) \(name.debugDescription): a host name is \(HostNameRule.describe())")
        }
    }
}

/// A runtime directory and whether it is the default one: the default of a
/// non-root user lies in world-writable /tmp, where another user may have
/// made it first, so it is used only when it is the user's own 0700
/// directory (lstat: no symbolic link). A directory named by the user
/// (`--runtime-dir`, `$VFIO_AP_SIM_RUNTIME_DIR`) may be reached through
/// symbolic links; a server refuses it when another user owns it or group
/// or others can write to it. Directories are made 0700 (chmod after mkdir,
/// so the umask changes nothing).
struct RuntimeDirectory {
    let path: String
    let isDefault: Bool

    static let advice = "remove it, or choose a directory with --runtime-dir"

    private func refuse(_ reason: String) -> UserError {
        UserError("refusing the runtime directory \(path): \(reason); \(Self.advice)")
    }

    /// What clients check before they look for sockets: nothing for a
    /// directory the user named, the default's ownership and mode, when it
    /// exists.
    func checkForClient() throws {
        guard isDefault else { return }
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        try checkDefault(st)
    }

    /// What a server does before it makes its socket: creates the
    /// directory (and missing parents) 0700, or checks the one there.
    func prepareForServer() throws {
        var st = stat()
        if lstat(path, &st) != 0 {
            guard errno == ENOENT else { throw cannotCreate(errno) }
            try Self.makeDirectories(path)
            guard lstat(path, &st) == 0 else { throw cannotCreate(errno) }
        }
        if isDefault {
            try checkDefault(st)
            return
        }
        // A path the user named: symbolic links are theirs to make.
        guard stat(path, &st) == 0 else { throw cannotCreate(errno) }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw cannotCreate(ENOTDIR) }
        guard st.st_uid == geteuid() else { throw refuse("it is owned by uid \(st.st_uid), not \(geteuid())") }
        guard st.st_mode & 0o022 == 0 else { throw refuse("group or others can write to it (mode \(Self.octal(st.st_mode)))") }
    }

    private func checkDefault(_ st: stat) throws {
        switch st.st_mode & S_IFMT {
        case S_IFDIR: break
        case S_IFLNK: throw refuse("it is a symbolic link")
        default: throw refuse("it is not a directory")
        }
        guard st.st_uid == geteuid() else { throw refuse("it is owned by uid \(st.st_uid), not \(geteuid())") }
        guard st.st_mode & 0o7777 == 0o700 else { throw refuse("it has mode \(Self.octal(st.st_mode)), not 0700") }
    }

    private func cannotCreate(_ code: Int32) -> UserError {
        UserError("cannot create the runtime directory \(path): \(String(cString: strerror(code)))")
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `mkdir -p` with every directory it makes 0700, whatever the umask.
    /// Errors name the directory asked for (as `what`) and strerror.
    static func makeDirectories(_ path: String, what: String = "the runtime directory") throws {
        var made: [String] = []
        var current = path
        // Walk up to the first ancestor that exists.
        while true {
            var st = stat()
            if lstat(current, &st) == 0 { break }
            guard errno == ENOENT else { throw UserError("cannot create \(what) \(path): \(String(cString: strerror(errno)))") }
            made.append(current)
            let parent = (current as NSString).deletingLastPathComponent
            if parent == current || parent.isEmpty { break }
            current = parent
        }
        for dir in made.reversed() {
            if mkdir(dir, 0o700) != 0 && errno != EEXIST {
                throw UserError("cannot create \(what) \(path): \(String(cString: strerror(errno)))")
            }
            // The umask may have taken bits away (0777 leaves 0000).
            _ = chmod(dir, 0o700)
        }
    }
}

/// `--host NAME` and `--runtime-dir DIR`: which running host a command talks to.
struct HostTarget: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The emulated host, by name. Default: $VFIO_AP_SIM_HOST (set inside `exec`), or the only running host.", valueName: "name"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("Where control sockets live (default: $VFIO_AP_SIM_RUNTIME_DIR, /run/vfio-ap-sim as root).", valueName: "dir"))
    var runtimeDir: String?

    func socketPath() throws -> String {
        let dir = try ControlPaths.runtimeDirectory(runtimeDir)
        try dir.checkForClient()
        if let host { return try ControlPaths.socket(host: host, directory: dir.path, source: "--host") }
        if let name = ProcessInfo.processInfo.environment[ControlPaths.hostVariable] {
            return try ControlPaths.socket(host: name, directory: dir.path, source: "$\(ControlPaths.hostVariable)")
        }
        let sockets = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasSuffix(".sock") && HostNameRule.isValid(String($0.dropLast(5))) }
        guard sockets.count == 1 else {
            throw UserError(sockets.isEmpty ? "no emulated host is running (no control socket in \(dir.path))"
                : "several hosts are running (\(sockets.map { String($0.dropLast(5)) }.sorted().joined(separator: ", "))): name one with --host")
        }
        return dir.path + "/" + sockets[0]
    }
}
