import Foundation
import XCTest

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// One `vfio-ap-sim mount` in the foreground at a fresh temporary directory.
/// `start()` waits for the ready line; `stop()` sends SIGTERM and returns the
/// exit status; `cleanUp()` (for tearDown) makes sure nothing stays mounted.
final class MountFixture {
    let name: String
    let root: String
    let mountpoint: String
    let runtimeDir: String
    private let process = Process()
    private let out = PipeCollector()
    private let err = PipeCollector()
    private(set) var readyLine = ""

    init(name: String) throws {
        self.name = name
        root = NSTemporaryDirectory() + "vfio-ap-sim-mounttests-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
        mountpoint = root + "/sys"
        runtimeDir = root + "/run"
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
    }

    /// Starts serving and waits (at most `timeout` s) for the ready line.
    func start(extraArguments: [String] = [], timeout: TimeInterval = 15) throws {
        process.executableURL = URL(fileURLWithPath: Simulator.binary)
        process.arguments = ["mount", "--name", name, "--runtime-dir", runtimeDir] + extraArguments + [mountpoint]
        process.standardOutput = out.pipe
        process.standardError = err.pipe
        process.standardInput = FileHandle.nullDevice
        out.start(); err.start()
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = out.text.split(separator: "\n").first, out.text.contains("\n") {
                readyLine = String(line)
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw FixtureError(description: "vfio-ap-sim mount never became ready (stdout \(out.text.debugDescription), stderr \(err.text.debugDescription))")
    }

    var isRunning: Bool { process.isRunning }
    var stderr: String { err.text }

    /// SIGTERM, then wait (at most `timeout` s) for the exit status.
    func stop(timeout: TimeInterval = 10) -> Int32? {
        guard process.isRunning else { return process.processIdentifier == 0 ? nil : process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    /// Whether the mount point is still in this process's mount table.
    var isMounted: Bool { Self.isMounted(mountpoint) }

    static func isMounted(_ path: String) -> Bool {
        let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? path
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && (fields[4] == path || fields[4] == real)
        }
    }

    /// tearDown: stop if still running (SIGKILL as a last resort), lazily
    /// unmount if something is left, remove the directories.
    func cleanUp() {
        if process.processIdentifier != 0 && process.isRunning {
            _ = stop()
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        if isMounted { _ = try? ProcessRunner.run(["/bin/umount", "-l", mountpoint], timeout: 10) }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A path inside the mounted tree, e.g. `path("bus/ap/apmask")`.
    func path(_ relative: String) -> String { mountpoint + "/" + relative }
}
