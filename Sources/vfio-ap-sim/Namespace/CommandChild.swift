import Foundation
import Glibc

/// exec's command as a child process.
enum CommandChild {
    /// Runs `argv` and returns its exit status (128 + signal when killed,
    /// 127 when it cannot be started); SIGTERM/SIGINT/SIGHUP are passed on to it.
    static func run(_ argv: [String], environment extra: [String: String]) -> Int32 {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in extra { env[k] = v }
        let cenv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
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
