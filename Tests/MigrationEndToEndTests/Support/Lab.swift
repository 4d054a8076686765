import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import XCTest

/// The mdev UUID of the vfio-ap.rst example, used by the demo topologies.
let exampleUUID = "62177883-f1bb-47f0-914d-32a22e3a8804"

/// Attribute access on a mounted host, as the tests read and write sysfs.
extension MountFixture {
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
}

/// A set of hosts sharing one private runtime directory, and the CLI aimed at them.
final class Lab {
    let root: String
    let runtimeDir: String
    private(set) var hosts: [String: MountFixture] = [:]

    init() throws {
        root = try TestDirectory.make("e2e", subdirectories: ["run"])
        runtimeDir = root + "/run"
    }

    @discardableResult
    func start(_ name: String, topology: String) throws -> MountFixture {
        let host = MountFixture(name: name, mountpoint: root + "/" + name, runtimeDir: runtimeDir)
        hosts[name] = host
        try host.start(extraArguments: ["--topology", topology])
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
        try ProcessRunner.run([Simulator.binary] + args, environment: ["VFIO_AP_SIM_RUNTIME_DIR": runtimeDir],
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
        for h in hosts.values { h.cleanUp() }
        if !hosts.values.contains(where: \.isMounted) {
            try? FileManager.default.removeItem(atPath: root)
        }
    }
}

/// Base class: a fresh lab per test, torn down after it.
class LabTestCase: XCTestCase {
    var lab: Lab!

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        lab = try Lab()
    }

    override func tearDown() {
        lab?.tearDown()
        lab = nil
        super.tearDown()
    }

    /// The two hosts of the migration demos: src (CEX5 05 + CEX5 06) and dst (CEX5 05 + CEX6 06).
    func startMigrationHosts(target: String = "migration-target.yaml") throws -> (src: MountFixture, dst: MountFixture) {
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
