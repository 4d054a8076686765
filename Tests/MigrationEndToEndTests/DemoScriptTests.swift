import Foundation
import TestSupport
import XCTest

/// Runs every demo/ script against the built binary: each must pass its own
/// checks (exit 0, `PASS: ...`), and print the vfio-ap.rst lines of its row.
final class DemoScriptTests: XCTestCase {
    let u = exampleUUID

    func runScript(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        try Simulator.requireFuse()
        let tmp = try TestDirectory.make("e2e-demo")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let r = try ProcessRunner.run(["/bin/bash", Paths.demo + "/" + name],
                                      environment: ["VFIO_AP_SIM": Simulator.binary, "TMPDIR": tmp],
                                      currentDirectory: Paths.repository, timeout: 60, file: file, line: line)
        let lines = r.lines
        XCTAssertEqual(r.status, 0, "\(name) failed:\n\(r.stdout)\n\(r.stderr)", file: file, line: line)
        XCTAssertFalse(lines.contains { $0.contains("FAILED:") }, "\(name):\n\(r.stdout)", file: file, line: line)
        XCTAssertTrue(lines.last?.range(of: #"^PASS: \#(name): all [0-9]+ checks passed$"#, options: .regularExpression) != nil,
                      "last line: \(lines.last ?? "")", file: file, line: line)
        // The script unmounted and removed everything it made.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []
        XCTAssertEqual(left, [], "\(name) left \(left) behind", file: file, line: line)
        return lines
    }

    /// Runs `name` (see runScript) and checks that it printed each line of
    /// `lines` and, for each of `kernel`, a kernel-log line
    /// `[timestamp] vfio_ap_mdev <uuid>: <kernel line>`.
    func assertDemo(_ name: String, prints lines: [String], kernel: [String] = [],
                    file: StaticString = #filePath, line: UInt = #line) throws {
        let out = try runScript(name, file: file, line: line)
        for l in lines {
            XCTAssertTrue(out.contains(l), "\(name) did not print: \(l)", file: file, line: line)
        }
        for k in kernel {
            XCTAssertTrue(out.contains { $0.hasSuffix("] vfio_ap_mdev \(u): \(k)") }, "\(name) did not print the kernel line: \(k)",
                          file: file, line: line)
        }
    }

    func testMigrateSuccess() throws {
        try assertDemo("migrate-success.sh", prints: [
            "   stdout| Migration of guest 'g1' from 'src' to 'dst' completed",
            "   stderr| error: operation failed: job 'migration in' failed: load of migration failed: Bad address",
        ])
    }

    func testFailMissingMdev() throws {
        try assertDemo("fail-missing-mdev.sh", prints: ["   stderr| error: device not found: mediated device '\(u)' not found"])
    }

    func testFailMigrationDisabled() throws {
        try assertDemo("fail-migration-disabled.sh", prints: [
            "   stderr| error: Requested operation is not valid: cannot migrate domain: \(u): Migration is disabled for VFIO device",
        ])
    }

    func testFailIncompatibleHardware() throws {
        try assertDemo("fail-incompatible-hardware.sh",
                       prints: ["   stderr| error: operation failed: job 'migration in' failed: load of migration failed: Bad address"],
                       kernel: ["APSC facility not installed in target queue 05.0004"])
    }

    func testFailMoreAPQNsOnSource() throws {
        try assertDemo("fail-more-apqns-on-source.sh",
                       prints: ["   stderr| error: operation failed: job 'migration in' failed: load of migration failed: Input/output error"],
                       kernel: ["migration failed: source guest's AP config size (72) larger than target's (40)"])
    }

    func testFailFewerAPQNsOnSource() throws {
        try assertDemo("fail-fewer-apqns-on-source.sh",
                       prints: ["   stderr| error: operation failed: job 'migration in' failed: load of migration failed: No such device"],
                       kernel: ["migration failed: number of queues on source (2) and target (4) guests differ"])
    }

    func testHardwareAdapterLoss() throws {
        try assertDemo("hw-adapter-loss.sh", prints: [
            "$ vfio-ap-sim hw adapter remove 0x06 --host src",
            "   ok: card06 and its queues are gone",
            "   ok: the guest sees",
            "   ok: the kernel printed nothing",
        ])
    }

    func testHardwareCheckstop() throws {
        try assertDemo("hw-checkstop.sh", prints: [
            "$ vfio-ap-sim hw card checkstop 5 --no-scan --host src",
            "   ok: chkstop before the scan",
            "   ok: vfio_ap unplugs nothing",
        ])
    }

    func testHardwareDomainRemoved() throws {
        try assertDemo("hw-domain-removed.sh",
                       prints: ["   stderr| error: operation failed: job 'migration in' failed: load of migration failed: No such device",
                                "   stdout| Migration of guest 'g1' from 'src' to 'dst' completed"],
                       kernel: ["migration failed: number of queues on source (2) and target (4) guests differ"])
    }

    func testHotplugWalk() throws {
        try assertDemo("hotplug-walk.sh", prints: ["   ok: remove still blocked after 1 s"],
                       kernel: ["Relaying device request to user (#0)"])
    }

    /// Every script in demo/ is covered here and listed in demo/README.md.
    func testEveryScriptIsListed() throws {
        let scripts = try FileManager.default.contentsOfDirectory(atPath: Paths.demo)
            .filter { $0.hasSuffix(".sh") && $0 != "lib.sh" }.sorted()
        XCTAssertEqual(scripts, ["fail-fewer-apqns-on-source.sh", "fail-incompatible-hardware.sh", "fail-migration-disabled.sh",
                                 "fail-missing-mdev.sh", "fail-more-apqns-on-source.sh", "hotplug-walk.sh", "hw-adapter-loss.sh",
                                 "hw-checkstop.sh", "hw-domain-removed.sh", "migrate-success.sh"])
        let readme = try String(contentsOfFile: Paths.demo + "/README.md", encoding: .utf8)
        for s in scripts { XCTAssertTrue(readme.contains("`\(s)`"), "\(s) missing from demo/README.md") }
    }
}
