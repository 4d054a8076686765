import Foundation
import XCTest

public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// One `vfio-ap-sim mount` in the foreground. `start()` waits for the ready
/// line; `stop()` sends SIGTERM and returns the exit status; `cleanUp()` (for
/// tearDown) makes sure nothing stays mounted.
public final class MountFixture {
    public let name: String
    /// The directory holding the mount point.
    public let root: String
    public let mountpoint: String
    public let runtimeDir: String
    /// Whether `cleanUp()` removes `root` (it does for a fixture that made it).
    private let ownsRoot: Bool
    private let process = Process()
    private let out = PipeCollector()
    private let err = PipeCollector()
    public private(set) var readyLine = ""

    /// A fixture at `mountpoint`, with control sockets in `runtimeDir`.
    public init(name: String, mountpoint: String, runtimeDir: String) {
        self.name = name
        self.mountpoint = mountpoint
        self.runtimeDir = runtimeDir
        root = (mountpoint as NSString).deletingLastPathComponent
        ownsRoot = false
    }

    /// A fixture in a fresh temporary directory (ROOT/sys, ROOT/run), removed by `cleanUp()`.
    public init(name: String) throws {
        self.name = name
        root = NSTemporaryDirectory() + "vfio-ap-sim-mounttests-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
        mountpoint = root + "/sys"
        runtimeDir = root + "/run"
        ownsRoot = true
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
    }

    /// Starts serving and waits (at most `timeout` s) for the ready line.
    /// `named: false` leaves the host's name to vfio-ap-sim (`hostName`
    /// then comes from the ready line). `environment` is added to the
    /// test's; `wrapper` (e.g. `["/bin/sh", "-c", "umask 0; exec \"$0\" \"$@\""]`)
    /// runs before the command and must exec it, so that the pid stays the host's.
    public func start(extraArguments: [String] = [], named: Bool = true, timeout: TimeInterval = 15,
                      environment: [String: String] = [:], wrapper: [String] = []) throws {
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        let command = [Simulator.binary, "mount"] + (named ? ["--name", name] : []) + ["--runtime-dir", runtimeDir]
            + extraArguments + [mountpoint]
        let argv = wrapper + command
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        if !environment.isEmpty {
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment { env[k] = v }
            process.environment = env
        }
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
            usleep(10_000)
        }
        throw FixtureError(description: "host '\(name)': vfio-ap-sim mount never became ready (stdout \(out.text.debugDescription), stderr \(err.text.debugDescription))")
    }

    /// The name the ready line gives: `vfio-ap-sim: host 'NAME' ready at ...`.
    public var hostName: String? {
        guard let open = readyLine.range(of: "host '"), let close = readyLine.range(of: "' ready", range: open.upperBound..<readyLine.endIndex) else { return nil }
        return String(readyLine[open.upperBound..<close.lowerBound])
    }

    public var isRunning: Bool { process.isRunning }
    public var pid: Int32 { process.processIdentifier }
    /// The exit status once the host has ended (nil while it runs).
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }
    public var stderr: String { err.text }

    /// SIGTERM, then wait (at most `timeout` s) for the exit status.
    public func stop(timeout: TimeInterval = 10) -> Int32? {
        guard process.isRunning else { return process.processIdentifier == 0 ? nil : process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    /// Whether the mount point is still in this process's mount table.
    public var isMounted: Bool { Self.isMounted(mountpoint) }

    public static func isMounted(_ path: String) -> Bool {
        let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? path
        let table = ProcFile.read("/proc/self/mountinfo")
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && (fields[4] == path || fields[4] == real)
        }
    }

    /// tearDown: stop if still running (SIGKILL as a last resort), lazily
    /// unmount if something is left, remove the directory the fixture made.
    public func cleanUp() {
        if process.processIdentifier != 0 && process.isRunning {
            _ = stop()
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        // umount -l detaches an overlay's whole subtree too.
        if isMounted { _ = try? ProcessRunner.run(["/bin/umount", "-l", mountpoint], timeout: 10) }
        if ownsRoot { try? FileManager.default.removeItem(atPath: root) }
    }

    /// A path inside the mounted tree, e.g. `path("bus/ap/apmask")`.
    public func path(_ relative: String) -> String { mountpoint + "/" + relative }
}
