import Foundation
import TestSupport
import XCTest

/// `--state FILE` at start: a host resumes what FILE holds, in `mount` and
/// in `exec`; a damaged, truncated, foreign or newer FILE, or one of
/// another topology, is refused with what is wrong, and left byte for byte
/// as it was (issue 10, point 12).
final class StateFileRefusalTests: XCTestCase {
    var root = ""
    var fixtures: [MountFixture] = []

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        root = try TestDirectory.make("staterefusal", subdirectories: ["sys"])
    }

    override func tearDown() {
        for f in fixtures { f.cleanUp() }
        try? FileManager.default.removeItem(atPath: root)
    }

    var state: String { root + "/host.state" }

    private func host(_ extra: [String] = []) throws -> MountFixture {
        let f = MountFixture(name: "kept", mountpoint: root + "/sys", runtimeDir: root + "/run")
        fixtures.append(f)
        try f.start(extraArguments: ["--state", state] + extra)
        return f
    }

    private func bytes(_ path: String) -> [UInt8]? { (try? Data(contentsOf: URL(fileURLWithPath: path))).map(Array.init) }

    /// A file holding a host whose apmask was changed.
    private func makeStateFile() throws -> [UInt8] {
        let f = try host()
        try "-5".write(toFile: f.path("bus/ap/apmask"), atomically: false, encoding: .utf8)
        XCTAssertEqual(f.stop(), 0, f.stderr)
        f.cleanUp()
        return try XCTUnwrap(bytes(state))
    }

    func testMountResumesWhatTheFileHolds() throws {
        _ = try makeStateFile()
        // Without --topology, and with the same one (the embedded default).
        for extra in [[], ["--topology", try defaultTopologyFile()]] {
            let f = try host(extra)
            XCTAssertEqual(try String(contentsOfFile: f.path("bus/ap/apmask"), encoding: .utf8),
                           "0xfbffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n")
            XCTAssertEqual(f.hostName, "kept")
            XCTAssertEqual(f.stop(), 0, f.stderr)
            f.cleanUp()
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: state + ".tmp"))
    }

    private func defaultTopologyFile() throws -> String {
        let path = root + "/default.yaml"
        let r = try ProcessRunner.run([Simulator.binary, "topology"])
        try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// One host per file: a second `mount --state` of the same file is refused.
    func testAFileInUseIsRefused() throws {
        _ = try makeStateFile()
        let f = try host()
        try FileManager.default.createDirectory(atPath: root + "/other", withIntermediateDirectories: true)
        let r = try ProcessRunner.run([Simulator.binary, "mount", "--name", "second", "--runtime-dir", root + "/run",
                                       "--state", state, root + "/other"], timeout: 20)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "vfio-ap-sim: the state file \(state) is in use by another vfio-ap-sim (its lock \(state).lock is held)\n")
        XCTAssertFalse(MountFixture.isMounted(root + "/other"))
        XCTAssertEqual(f.stop(), 0)
    }

    func testDamagedForeignAndNewerFilesAreRefusedAndLeftAsTheyAre() throws {
        let good = try makeStateFile()
        let newline = try XCTUnwrap(good.firstIndex(of: 0x0A))
        let payload = good.count - newline - 1
        var flipped = good
        flipped[newline + 40] ^= 0x20
        let newer = Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"version\":1", with: "\"version\":2").utf8)
        let other = root + "/other.yaml"
        try "name: other\nadapters: [{id: 0x05, type: CEX8, mode: cca}]\nusage_domains: [4]\n".write(toFile: other, atomically: true, encoding: .utf8)
        let refused = "vfio-ap-sim: refusing the state file \(state): "
        let kept = "; the file is left as it is\n"
        let cases: [(String, [UInt8], [String], String)] = [
            ("truncated", Array(good[..<(newline + 1 + 50)]), [],
             "it is truncated: the payload has 50 of its \(payload) bytes"),
            ("empty", [], [], "it is empty (truncated)"),
            ("flipped bit", flipped, [], "it is damaged: the payload's CRC-32 is "),
            ("foreign", Array("name: s390\n".utf8), [],
             "it is not a vfio-ap-sim state file (its first line is not a vfio-ap-sim-state header: it starts 'name: s390')"),
            ("newer", newer, [],
             "it was written by a newer vfio-ap-sim (state format version 2; this one reads version 1 and older)"),
            ("other topology", good, ["--topology", other], "it holds a host booted from topology 's390-vfio-ap-example' (digest "),
        ]
        for (what, content, extra, message) in cases {
            FileManager.default.createFile(atPath: state, contents: Data(content))
            for command in [["mount", "--name", "kept", "--runtime-dir", root + "/run"], ["exec"]] {
                var args = [Simulator.binary] + command + ["--state", state] + extra
                args += command[0] == "mount" ? [root + "/sys"] : ["--", "true"]
                let r = try ProcessRunner.run(args, timeout: 20)
                XCTAssertEqual(r.status, 1, "\(what), \(command[0])")
                XCTAssertTrue(r.stderr.hasPrefix(refused + message), "\(what), \(command[0]): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasSuffix(kept), "\(what), \(command[0]): \(r.stderr)")
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
                XCTAssertEqual(bytes(state), content, "\(what), \(command[0]): the file changed")
                XCTAssertFalse(FileManager.default.fileExists(atPath: state + ".tmp"))
                XCTAssertFalse(MountFixture.isMounted(root + "/sys"))
            }
        }
        // The topology refusal says which is which.
        FileManager.default.createFile(atPath: state, contents: Data(good))
        let r = try ProcessRunner.run([Simulator.binary, "mount", "--runtime-dir", root + "/run", "--state", state,
                                       "--topology", other, root + "/sys"], timeout: 20)
        XCTAssertTrue(r.stderr.contains(", not from 'other' (digest 0x"), r.stderr)
        XCTAssertTrue(r.stderr.contains("give the same --topology (or none), or another --state file"), r.stderr)
    }

    /// exec's host keeps its state in the file too: a second exec with the
    /// same file finds what the first one's command did.
    func testExecResumesWhatTheFileHolds() throws {
        let first = try ProcessRunner.run([Simulator.binary, "exec", "--state", state, "--", "sh", "-c",
                                           "echo -5,-6 > /sys/bus/ap/apmask && chmod 0600 /sys/bus/ap/aqmask && echo $VFIO_AP_SIM_HOST"],
                                          timeout: 30)
        XCTAssertEqual(first.status, 0, first.stderr)
        let name = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let second = try ProcessRunner.run([Simulator.binary, "exec", "--state", state, "--", "sh", "-c",
                                            "cat /sys/bus/ap/apmask; stat -c %a /sys/bus/ap/aqmask; echo $VFIO_AP_SIM_HOST"],
                                           timeout: 30)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.lines, ["0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "600", name])
        // A mount of the same file resumes the same host.
        let f = try host()
        XCTAssertEqual(try String(contentsOfFile: f.path("bus/ap/apmask"), encoding: .utf8),
                       "0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n")
        XCTAssertEqual(f.stop(), 0)
    }
}
