import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// Where things are: the built `vfio-ap-sim` (next to the test bundle, since
/// the test target depends on the executable) and the repository's demo/.
enum Paths {
    static var binary: String {
        let candidates = [
            Bundle(for: LabMarker.self).bundleURL.deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.executableURL?.deletingLastPathComponent(),
        ].compactMap { $0 }
        for dir in candidates {
            let path = dir.appendingPathComponent("vfio-ap-sim").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return candidates[0].appendingPathComponent("vfio-ap-sim").path
    }

    /// The repository root: this file is Tests/MigrationEndToEndTests/Support/Lab.swift.
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var demo: String { repository + "/demo" }
    static func topology(_ name: String) -> String { demo + "/topologies/" + name }

    /// Everything here mounts through FUSE: skip without /dev/fuse.
    static func requireFuse() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else {
            throw XCTSkip("/dev/fuse is missing: the end-to-end migration tests mount emulated hosts through FUSE")
        }
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            XCTFail("vfio-ap-sim not found at \(binary)")
            throw XCTSkip("no vfio-ap-sim binary")
        }
    }
}

final class LabMarker {}

/// The mdev UUID of the vfio-ap.rst example, used by the demo topologies.
let exampleUUID = "62177883-f1bb-47f0-914d-32a22e3a8804"

/// What a finished subprocess left behind.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var pid: Int32
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLastEmpty() }
}

extension Array where Element == String {
    func dropLastEmpty() -> [String] { last == "" ? Array(dropLast()) : self }
}

/// Collects a pipe's output on a background thread.
final class PipeCollector: @unchecked Sendable {
    let pipe = Pipe()
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    func start() {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); data.append(chunk); lock.unlock()
            }
            done.signal()
        }
    }

    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }

    @discardableResult
    func waitForEOF(timeout: TimeInterval) -> Bool { done.wait(timeout: .now() + timeout) == .success }
}

enum ProcessRunner {
    /// Runs a program to completion (SIGKILL after `timeout` s).
    static func run(_ arguments: [String], environment: [String: String] = [:], currentDirectory: String? = nil,
                    timeout: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arguments[0])
        p.arguments = Array(arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        if let currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = PipeCollector(), err = PipeCollector()
        p.standardOutput = out.pipe
        p.standardError = err.pipe
        p.standardInput = FileHandle.nullDevice
        out.start(); err.start()
        try p.run()
        let pid = p.processIdentifier
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { p.waitUntilExit(); finished.signal() }
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            kill(pid, SIGKILL)
            finished.wait()
            XCTFail("timed out after \(timeout) s: \(arguments.joined(separator: " "))", file: file, line: line)
        }
        out.waitForEOF(timeout: 5); err.waitForEOF(timeout: 5)
        return ProcessResult(status: p.terminationStatus, stdout: out.text, stderr: err.text, pid: pid)
    }
}

/// One `vfio-ap-sim mount` in the background.
final class Host {
    let name: String
    let mountpoint: String
    private let process = Process()
    private let out = PipeCollector()
    private let err = PipeCollector()

    init(name: String, mountpoint: String) {
        self.name = name
        self.mountpoint = mountpoint
    }

    func start(topology: String, runtimeDir: String, timeout: TimeInterval = 15) throws {
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: Paths.binary)
        process.arguments = ["mount", "--topology", topology, "--name", name, "--runtime-dir", runtimeDir, mountpoint]
        process.standardOutput = out.pipe
        process.standardError = err.pipe
        process.standardInput = FileHandle.nullDevice
        out.start(); err.start()
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if out.text.contains("\n") { return }
            if !process.isRunning { break }
            usleep(10_000)
        }
        throw NSError(domain: "Lab", code: 1, userInfo: [NSLocalizedDescriptionKey:
            "host '\(name)' never became ready (stdout \(out.text.debugDescription), stderr \(err.text.debugDescription))"])
    }

    /// A path in the mounted tree, e.g. `path("bus/ap/apmask")`.
    func path(_ relative: String) -> String { mountpoint + "/" + relative }

    /// The content of an attribute without its trailing newline.
    func read(_ relative: String) -> String? {
        guard let s = try? String(contentsOfFile: path(relative), encoding: .utf8) else { return nil }
        return s.hasSuffix("\n") ? String(s.dropLast()) : s
    }

    /// One write(2) of `text`; nil on success, else the errno.
    @discardableResult
    func write(_ relative: String, _ text: String) -> Int32? {
        let fd = open(path(relative), O_WRONLY)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count) }
        return n < 0 ? errno : nil
    }

    func queueStatus(_ apqn: String) -> String? { read("devices/ap/card\(apqn.prefix(2))/\(apqn)/status") }

    func stop() {
        guard process.processIdentifier != 0 else { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        if Lab.isMounted(mountpoint) { _ = try? ProcessRunner.run(["/bin/umount", "-l", mountpoint], timeout: 10) }
    }
}

/// A set of hosts sharing one private runtime directory, and the CLI aimed at them.
final class Lab {
    let root: String
    let runtimeDir: String
    private(set) var hosts: [String: Host] = [:]

    init() throws {
        root = NSTemporaryDirectory() + "vfio-ap-sim-e2e-\(getpid())-\(UUID().uuidString.prefix(8))"
        runtimeDir = root + "/run"
        try FileManager.default.createDirectory(atPath: runtimeDir, withIntermediateDirectories: true)
    }

    @discardableResult
    func start(_ name: String, topology: String) throws -> Host {
        let host = Host(name: name, mountpoint: root + "/" + name)
        hosts[name] = host
        try host.start(topology: topology, runtimeDir: runtimeDir)
        return host
    }

    /// Writes a topology file into the lab (e.g. a variant of a demo topology).
    func topologyFile(_ name: String, _ text: String) throws -> String {
        let path = root + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `vfio-ap-sim ARGS...` with this lab's runtime directory.
    func cli(_ args: String..., timeout: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try cli(args, timeout: timeout, file: file, line: line)
    }

    func cli(_ args: [String], timeout: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try ProcessRunner.run([Paths.binary] + args, environment: ["VFIO_AP_SIM_RUNTIME_DIR": runtimeDir],
                              timeout: timeout, file: file, line: line)
    }

    /// `dmesg --host NAME`, timestamps checked and stripped.
    func kernelLog(_ host: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let r = try cli("dmesg", "--host", host, file: file, line: line)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return Lab.stripTimestamps(r.lines, file: file, line: line)
    }

    /// `[%5lu.%06lu] ` before every kernel-log line: checked, then removed.
    static func stripTimestamps(_ lines: [String], file: StaticString = #filePath, line: UInt = #line) -> [String] {
        lines.map { l in
            guard let r = l.range(of: #"^\[[ 0-9]{4}[0-9]\.[0-9]{6}\] "#, options: .regularExpression) else {
                XCTFail("kernel-log line without a [%5lu.%06lu] timestamp: \(l)", file: file, line: line)
                return l
            }
            return String(l[r.upperBound...])
        }
    }

    func tearDown() {
        for h in hosts.values { h.stop() }
        if !hosts.values.contains(where: { Lab.isMounted($0.mountpoint) }) {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    static func isMounted(_ path: String) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == path
        }
    }
}

/// Base class: a fresh lab per test, torn down after it.
class LabTestCase: XCTestCase {
    var lab: Lab!

    override func setUpWithError() throws {
        try Paths.requireFuse()
        lab = try Lab()
    }

    override func tearDown() {
        lab?.tearDown()
        lab = nil
        super.tearDown()
    }

    /// The two hosts of the migration demos: src (CEX5 05 + CEX5 06) and dst (CEX5 05 + CEX6 06).
    func startMigrationHosts(target: String = "migration-target.yaml") throws -> (src: Host, dst: Host) {
        let src = try lab.start("src", topology: Paths.topology("migration-source.yaml"))
        let dst = try lab.start("dst", topology: Paths.topology(target))
        return (src, dst)
    }

    /// Runs `cmd` and checks it succeeded; returns its stdout lines.
    @discardableResult
    func ok(_ args: String..., file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let r = try lab.cli(args, file: file, line: line)
        XCTAssertEqual(r.status, 0, "vfio-ap-sim \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.lines
    }

    func guestList(_ host: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let r = try lab.cli(["guest", "list", "--host", host], file: file, line: line)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return r.lines
    }
}
