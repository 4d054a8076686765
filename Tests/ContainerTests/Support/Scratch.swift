import Foundation
import TestSupport
import XCTest

/// A test's scratch directory under /tmp, and everything that must not
/// outlive the test: processes it started (by pid file), containers (through
/// `podman`), mounts below the directory. `cleanUp()` is for tearDown.
final class Scratch {
    let root: String
    let podman: Podman

    init(_ test: XCTestCase) throws {
        let name = test.name.filter { $0.isLetter || $0.isNumber }
        root = NSTemporaryDirectory() + "vfio-ap-sim-containertests-\(getpid())-\(name.suffix(32))-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        podman = try Podman(scratch: root, testName: test.name)
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    func makeDirectory(_ relative: String) throws -> String {
        let p = path(relative)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    /// Runs `script` with /bin/sh inside a private mount namespace of its own
    /// (util-linux unshare): the shared mount it makes for propagation, and
    /// any mount a publisher makes there, go when the namespace does. The
    /// script gets `env` (plus CONTAINERS_CONF) and should write the pid of
    /// each background process to `$T/NAME.pid`, which `cleanUp()` ends.
    func inPrivateNamespace(_ script: String, environment: [String: String] = [:], timeout: TimeInterval = 90,
                            file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        var env = podman.environment
        env["T"] = root
        for (k, v) in environment { env[k] = v }
        return try ProcessRunner.run(["/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script],
                                     environment: env, timeout: timeout, file: file, line: line)
    }

    /// Mount points in this (the test process's) namespace at or below the
    /// scratch directory.
    var mountsLeft: [String] {
        (ProcFile.read("/proc/self/mountinfo") ?? "").split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count > 4 else { return nil }
            let point = String(f[4])
            return point == root || point.hasPrefix(root + "/") ? point : nil
        }
    }

    /// tearDown: TERM (then KILL) the vfio-ap-sim processes named by `*.pid`
    /// (those serving below this directory), remove the
    /// containers, check that nothing is mounted below the directory
    /// (unmounting it lazily if something is), remove the directory.
    func cleanUp(file: StaticString = #filePath, line: UInt = #line) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for e in entries where e.hasSuffix(".pid") {
            guard let text = try? String(contentsOfFile: path(e), encoding: .utf8),
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 else { continue }
            // Only a vfio-ap-sim the script started (a pid can be reused once it exits).
            let cmdline = ProcFile.read("/proc/\(pid)/cmdline") ?? ""
            if cmdline.contains("vfio-ap-sim"), cmdline.contains(root) {
                kill(pid, SIGTERM)
                for _ in 0..<100 where kill(pid, 0) == 0 { usleep(50_000) }
                if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
            }
        }
        podman.removeContainers()
        let left = mountsLeft
        XCTAssertEqual(left, [], "mounts left behind", file: file, line: line)
        for m in left.reversed() { _ = try? ProcessRunner.run(["/bin/umount", "-l", m], timeout: 10) }
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// Single-quoted for /bin/sh.
func shellQuoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
func shellQuoted(_ words: [String]) -> String { words.map(shellQuoted).joined(separator: " ") }
