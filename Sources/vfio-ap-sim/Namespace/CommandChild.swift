import Foundation
import Glibc

/// exec's command as a child process.
enum CommandChild {
    /// Runs `argv` and returns its exit status (128 + signal when killed,
    /// 127 when it cannot be started); SIGTERM/SIGINT/SIGHUP are passed on to it.
    static func run(_ argv: [String], environment extra: [String: String]) -> Int32 {
        let cenv = environment(with: extra).map { strdup($0) } + [nil]
        let cargs = argv.map { strdup($0) } + [nil]
        var pid: pid_t = 0
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        BrokenPipes.spawnDefaults(&attributes)
        let rc = posix_spawnp(&pid, argv[0], nil, &attributes, cargs, cenv)
        guard rc == 0 else {
            FileHandle.standardError.write("vfio-ap-sim: \(argv[0]): \(String(cString: strerror(rc)))\n".data(using: .utf8)!)
            return 127
        }
        ChildSignals.forward(to: pid)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let termsig = status & 0x7f
        if termsig == 0 { return (status >> 8) & 0xff }
        return 128 + termsig
    }

    /// exec's own environment in its order, `extra` replacing a variable
    /// of the same name in place and the rest appended by name, as env(1)
    /// passes it on: the command's `env` reads the same from run to run.
    static func environment(with extra: [String: String]) -> [String] {
        var entries: [String] = []
        var placed = Set<String>()
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            let name = String(text.prefix(while: { $0 != "=" }))
            if let value = extra[name] {
                if placed.insert(name).inserted { entries.append(name + "=" + value) }
            } else {
                entries.append(text)
            }
            cursor += 1
        }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) where !placed.contains(name) {
            entries.append(name + "=" + value)
        }
        return entries
    }
}

/// Passes termination signals on to the command's process.
enum ChildSignals {
    nonisolated(unsafe) static var child: pid_t = 0

    static func forward(to pid: pid_t) {
        child = pid
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig) { s in if ChildSignals.child > 0 { kill(ChildSignals.child, s) } }
        }
    }
}
