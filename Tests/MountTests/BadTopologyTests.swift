import TestSupport
import XCTest

/// A bad topology is reported (file, field, value) before anything is
/// mounted, with a non-zero exit status.
final class BadTopologyTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        root = try TestDirectory.make("badtopo", subdirectories: ["mnt"])
    }

    override func tearDown() {
        if MountFixture.isMounted(root + "/mnt") { _ = try? ProcessRunner.run(["/bin/umount", "-l", root + "/mnt"]) }
        try? FileManager.default.removeItem(atPath: root)
    }

    func assertRefused(_ yaml: String, message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = root + "/bad.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try ProcessRunner.run([Simulator.binary, "mount", "--topology", path, "--runtime-dir", root + "/run",
                                       root + "/mnt"], timeout: 15, file: file, line: line)
        XCTAssertNotEqual(r.status, 0, file: file, line: line)
        XCTAssertEqual(r.stdout, "", "no ready line", file: file, line: line)
        XCTAssertEqual(r.stderr, "vfio-ap-sim: topology \(path): \(message)\n", file: file, line: line)
        XCTAssertFalse(MountFixture.isMounted(root + "/mnt"), file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/mnt"), [], file: file, line: line)
    }

    func testUnknownAdapterType() throws {
        let text = try ProcessRunner.run([Simulator.binary, "topology"]).stdout
        XCTAssertTrue(text.contains("    type: CEX5\n    mode: cca"))
        try assertRefused(text.replacingOccurrences(of: "    type: CEX5\n    mode: cca", with: "    type: CEX99\n    mode: cca"),
                          message: "adapters[0].type: unknown AP type 'CEX99' (expected CEX4, CEX5, CEX6, CEX7 or CEX8, or raw_type)")
    }

    func testMaximumOutOfRange() throws {
        try assertRefused("name: bad\nmachine:\n  ap_max_adapter_id: 300\n",
                          message: "machine.ap_max_adapter_id: 300 is out of range 0...255")
    }

    func testExecRefusesToo() throws {
        let path = root + "/bad.yaml"
        try "name: bad\nmachine:\n  ap_max_adapter_id: 300\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try ProcessRunner.run([Simulator.binary, "exec", "--topology", path, "--", "/bin/true"], timeout: 15)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "vfio-ap-sim: topology \(path): machine.ap_max_adapter_id: 300 is out of range 0...255\n")
    }

    /// Duplicate domains are refused as duplicate adapters are (issue 10,
    /// point 13), whatever their spelling or a range that covers them.
    func testDuplicateUsageDomains() throws {
        try assertRefused("name: dup\nusage_domains: [4, 4, 0x04]\n",
                          message: "usage_domains[1]: domain 0x04 is listed twice")
        try assertRefused("name: dup\nusage_domains: [0x04, 0x47, 0x04]\n",
                          message: "usage_domains[2]: domain 0x04 is listed twice")
        try assertRefused("name: dup\nusage_domains: [0-7, 5]\n",
                          message: "usage_domains[1]: domain 0x05 is listed twice")
    }

    func testDuplicateControlDomains() throws {
        try assertRefused("name: dup\nusage_domains: [4]\ncontrol_domains: [4, 0xab, 0xAB]\n",
                          message: "control_domains[2]: domain 0xab is listed twice")
    }
}
