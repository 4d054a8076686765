import Foundation
import TestSupport
import XCTest

/// Runs every demo/ script against the built binary: each must pass its own
/// checks (exit 0, `PASS: ...`), and print the vfio-ap.rst lines of its row.
final class DemoScriptTests: XCTestCase {
    let u = exampleUUID

    func runScript(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        try Simulator.requireFuse()
        let tmp = NSTemporaryDirectory() + "vfio-ap-sim-e2e-demo-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
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

    func testMigrateSuccess() throws {
        let out = try runScript("migrate-success.sh")
        XCTAssertTrue(out.contains("   stdout| Migration of guest 'g1' from 'src' to 'dst' completed"))
        XCTAssertTrue(out.contains("   stderr| error: operation failed: job 'migration in' failed: load of migration failed: Bad address"))
    }

    func testFailMissingMdev() throws {
        let out = try runScript("fail-missing-mdev.sh")
        XCTAssertTrue(out.contains("   stderr| error: device not found: mediated device '\(u)' not found"))
    }

    func testFailMigrationDisabled() throws {
        let out = try runScript("fail-migration-disabled.sh")
        XCTAssertTrue(out.contains("   stderr| error: Requested operation is not valid: cannot migrate domain: \(u): Migration is disabled for VFIO device"))
    }

    func testFailIncompatibleHardware() throws {
        let out = try runScript("fail-incompatible-hardware.sh")
        XCTAssertTrue(out.contains("   stderr| error: operation failed: job 'migration in' failed: load of migration failed: Bad address"))
        XCTAssertTrue(out.contains { $0.hasSuffix("] vfio_ap_mdev \(u): APSC facility not installed in target queue 05.0004") })
    }

    func testFailMoreAPQNsOnSource() throws {
        let out = try runScript("fail-more-apqns-on-source.sh")
        XCTAssertTrue(out.contains("   stderr| error: operation failed: job 'migration in' failed: load of migration failed: Input/output error"))
        XCTAssertTrue(out.contains { $0.hasSuffix("] vfio_ap_mdev \(u): migration failed: source guest's AP config size (72) larger than target's (40)") })
    }

    func testFailFewerAPQNsOnSource() throws {
        let out = try runScript("fail-fewer-apqns-on-source.sh")
        XCTAssertTrue(out.contains("   stderr| error: operation failed: job 'migration in' failed: load of migration failed: No such device"))
        XCTAssertTrue(out.contains { $0.hasSuffix("] vfio_ap_mdev \(u): migration failed: number of queues on source (2) and target (4) guests differ") })
    }

    func testHotplugWalk() throws {
        let out = try runScript("hotplug-walk.sh")
        XCTAssertTrue(out.contains("   ok: remove still blocked after 1 s"))
        XCTAssertTrue(out.contains { $0.hasSuffix("] vfio_ap_mdev \(u): Relaying device request to user (#0)") })
    }

    /// Every script in demo/ is covered here and listed in demo/README.md.
    func testEveryScriptIsListed() throws {
        let scripts = try FileManager.default.contentsOfDirectory(atPath: Paths.demo)
            .filter { $0.hasSuffix(".sh") && $0 != "lib.sh" }.sorted()
        XCTAssertEqual(scripts, ["fail-fewer-apqns-on-source.sh", "fail-incompatible-hardware.sh", "fail-migration-disabled.sh",
                                 "fail-missing-mdev.sh", "fail-more-apqns-on-source.sh", "hotplug-walk.sh", "migrate-success.sh"])
        let readme = try String(contentsOfFile: Paths.demo + "/README.md", encoding: .utf8)
        for s in scripts { XCTAssertTrue(readme.contains("`\(s)`"), "\(s) missing from demo/README.md") }
    }
}
