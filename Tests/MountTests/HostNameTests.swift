import Foundation
import TestSupport
import XCTest

/// A host name becomes a file name in the runtime directory, never a path:
/// `--name`, `--host` and the topology's `name:` are 1 to 64 of
/// [A-Za-z0-9._-], not starting with '.' or '-' (issue 10, point 5).
final class HostNameTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        root = try TestDirectory.make("names", subdirectories: ["mnt", "x"])
    }

    override func tearDown() {
        if MountFixture.isMounted(root + "/mnt") { _ = try? ProcessRunner.run(["/bin/umount", "-l", root + "/mnt"]) }
        try? FileManager.default.removeItem(atPath: root)
    }

    static let rule = "a host name is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', and does not start with '.' or '-'"

    private func mount(_ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run([Simulator.binary, "mount"] + arguments + [root + "/mnt"], timeout: 20)
    }

    private func assertNotMounted(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(MountFixture.isMounted(root + "/mnt"), file: file, line: line)
    }

    /// The name of the issue: it pointed outside the runtime directory and
    /// deleted a file there.
    func testANameThatIsAPathIsRefusedAndNothingIsDeleted() throws {
        let precious = root + "/x/precious.sock"
        try "keep me".write(toFile: precious, atomically: true, encoding: .utf8)
        let r = try mount(["--name", "../x/precious", "--runtime-dir", root + "/run"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "vfio-ap-sim: --name \"../x/precious\": \(Self.rule)\n")
        XCTAssertEqual(try String(contentsOfFile: precious, encoding: .utf8), "keep me")
        assertNotMounted()
    }

    func testBadNamesAreRefusedNamingTheValue() throws {
        let cases: [(String, String)] = [
            ("", "\"\""), ("a\nb", "\"a\\nb\""), (String(repeating: "n", count: 65), "\"\(String(repeating: "n", count: 65))\""),
            (".hidden", "\".hidden\""), ("-x", "\"-x\""), ("a/b", "\"a/b\""), ("ä", "\"ä\""), ("a b", "\"a b\""), ("..", "\"..\""),
        ]
        for (name, shown) in cases {
            // `--name=VALUE`: a value starting with '-' is not an option then.
            let option = name.isEmpty ? ["--name", ""] : ["--name=\(name)"]
            let r = try mount(option + ["--runtime-dir", root + "/run"])
            XCTAssertEqual(r.status, 1, name)
            XCTAssertEqual(r.stderr, "vfio-ap-sim: --name \(shown): \(Self.rule)\n", name)
            assertNotMounted()
            let e = try ProcessRunner.run([Simulator.binary, "exec"] + option + ["--", "true"], timeout: 20)
            XCTAssertEqual(e.status, 1, name)
            XCTAssertEqual(e.stderr, "vfio-ap-sim: --name \(shown): \(Self.rule)\n", name)
        }
        // Not UTF-8 at all (argv bytes 0xff).
        let r = try ProcessRunner.run(["/bin/sh", "-c", "exec \"$0\" mount --name \"$(printf 'a\\377')\" --runtime-dir \"$1\" \"$2\"",
                                       Simulator.binary, root + "/run", root + "/mnt"], timeout: 20)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("vfio-ap-sim: --name \"a"), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("\": \(Self.rule)\n"), r.stderr)
        assertNotMounted()
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/run"), "nothing was created for a refused name")
    }

    /// Clients check `--host` the same way before making a path of it.
    func testClientsRefuseBadHostNames() throws {
        let r = try ProcessRunner.run([Simulator.binary, "dmesg", "--host", "../x/precious", "--runtime-dir", root + "/run"], timeout: 20)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("--host \"../x/precious\": \(Self.rule)"), r.stderr)
        let e = try ProcessRunner.run([Simulator.binary, "dmesg", "--runtime-dir", root + "/run"],
                                      environment: ["VFIO_AP_SIM_HOST": "a/b"], timeout: 20)
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.stderr.contains("$VFIO_AP_SIM_HOST \"a/b\": \(Self.rule)"), e.stderr)
    }

    /// The topology's name is the base of generated host names: the same
    /// characters, at most 57 so that NAME-xxxxxx stays within 64.
    func testTopologyNameIsChecked() throws {
        for (name, shown) in [("../evil", "'../evil'"), ("", "''"), (String(repeating: "t", count: 58), "'\(String(repeating: "t", count: 58))'")] {
            let path = root + "/t.yaml"
            try "name: \"\(name)\"\n".write(toFile: path, atomically: true, encoding: .utf8)
            let r = try mount(["--topology", path, "--runtime-dir", root + "/run"])
            XCTAssertEqual(r.status, 1, name)
            XCTAssertEqual(r.stderr, "vfio-ap-sim: topology \(path): name: \(shown) is not a valid host name: it is 1 to 57 characters of A-Z, a-z, 0-9, '.', '_' and '-', and does not start with '.' or '-'\n", name)
            assertNotMounted()
        }
    }

    /// The longest valid name serves (a short runtime directory keeps the
    /// socket path within sun_path).
    func testA64CharacterNameServes() throws {
        let run = "/tmp/vaps-\(UUID().uuidString.prefix(6))"
        defer { try? FileManager.default.removeItem(atPath: run) }
        let name = String(repeating: "a", count: 62) + "_9"
        let f = MountFixture(name: name, mountpoint: root + "/mnt", runtimeDir: run)
        defer { f.cleanUp() }
        try f.start()
        let r = try ProcessRunner.run([Simulator.binary, "dmesg", "--host", name, "--runtime-dir", run], timeout: 20)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(ControlSocket.request(run + "/" + name + ".sock", "name"), "OK\n\(name)\n")
        XCTAssertEqual(f.stop(), 0)
    }

    func testAnEmptyRuntimeDirIsRefused() throws {
        let r = try mount(["--name", "ok", "--runtime-dir", ""])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "vfio-ap-sim: --runtime-dir is empty: name a directory\n")
        assertNotMounted()
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/ok.sock"))
        let c = try ProcessRunner.run([Simulator.binary, "dmesg", "--runtime-dir", ""], timeout: 20)
        XCTAssertEqual(c.status, 1)
        XCTAssertTrue(c.stderr.contains("--runtime-dir is empty: name a directory"), c.stderr)
    }
}
