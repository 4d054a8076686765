import Foundation
import XCTest
@testable import FuseServer

/// Mounts a fresh `InMemoryFileSystem` for every test and always unmounts.
class MountedTestCase: XCTestCase {
    var fileSystem: InMemoryFileSystem!
    var mount: FuseMount!
    var root = ""
    /// The options every test of the class mounts with.
    var mountOptions: FuseMount.Options { .init(subtype: "vfio-ap-sim-test") }

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else {
            throw XCTSkip("/dev/fuse is missing: FUSE mount tests need the fuse device")
        }
        root = NSTemporaryDirectory() + "fuse-server-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        fileSystem = InMemoryFileSystem()
        mount = FuseMount(fileSystem: fileSystem, mountpoint: root, options: mountOptions)
        try mount.start()
    }

    override func tearDown() {
        fileSystem?.setBlocking(false)
        fileSystem?.releaseBlockedStore()
        mount?.stop()
        if isMounted(root) {
            _ = Self.run("/usr/bin/fusermount3", ["-u", root], timeout: 10)
            if isMounted(root) { _ = Self.run("/bin/umount", ["-l", root], timeout: 10) }
        }
        XCTAssertFalse(isMounted(root), "\(root) still mounted after stop()")
        try? FileManager.default.removeItem(atPath: root)
        mount = nil
        fileSystem = nil
    }

    func isMounted(_ path: String) -> Bool {
        guard !path.isEmpty, let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else {
            return false
        }
        return mounts.split(separator: "\n").contains { $0.split(separator: " ").dropFirst().first.map(String.init) == path }
    }

    // MARK: Processes

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program with a deadline (a hung FUSE request must fail the
    /// test, not hang it).
    static func run(_ executable: String, _ arguments: [String], cwd: String? = nil,
                    timeout: TimeInterval = 30) -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch { return Output(status: -1, stdout: "", stderr: "\(error)") }
        // Drain while running so large outputs cannot block the child.
        let stdoutBox = Locked(Data()), stderrBox = Locked(Data())
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { stdoutBox.value = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { stderrBox.value = err.fileHandleForReading.readDataToEndOfFile() }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            done.wait()
            group.wait()
            return Output(status: -2, stdout: String(decoding: stdoutBox.value, as: UTF8.self),
                          stderr: "timed out after \(timeout)s")
        }
        group.wait()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdoutBox.value, as: UTF8.self),
                      stderr: String(decoding: stderrBox.value, as: UTF8.self))
    }

    /// `/bin/sh -c script` inside the mount.
    func sh(_ script: String, timeout: TimeInterval = 30) -> Output {
        Self.run("/bin/sh", ["-c", script], cwd: root, timeout: timeout)
    }

    /// Runs a python3 snippet inside the mount; `E(expr)` in the snippet
    /// prints "ok" or the errno the expression raised.
    func python(_ code: String, timeout: TimeInterval = 60) -> String {
        let prelude = """
        import os, sys, errno
        def E(f):
            try:
                r = f()
                print("ok" if r is None else "ok %r" % (r,))
            except OSError as e:
                print(errno.errorcode.get(e.errno, e.errno))

        """
        let output = Self.run("/usr/bin/env", ["python3", "-c", prelude + code], cwd: root, timeout: timeout)
        XCTAssertEqual(output.status, 0, "python failed: \(output.stderr)")
        return output.stdout
    }

    func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init)
    }
}

/// A value shared with other threads in tests.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&stored) } }
}
