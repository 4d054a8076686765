import Foundation
import TestSupport
import XCTest

/// `vfio-ap-sim show` as a user runs it: the control request, colour on a
/// terminal only (and never with NO_COLOR), a topology drawn offline, and
/// refusals.
final class ShowCommandTests: LabTestCase {
    let esc = "\u{1B}["

    func testTheRequestAndItsRefusals() throws {
        try lab.start("h", topology: Paths.topology("migration-source.yaml"))
        let socket = lab.runtimeDir + "/h.sock"
        let reply = ControlSocket.request(socket, "show") ?? ""
        XCTAssertTrue(reply.hasPrefix("OK\n{\n  \"adapters\": [5,6],\n"), reply)
        XCTAssertEqual(ControlSocket.request(socket, "show me"), "ERR request 'show me': 'show' takes no arguments\n")
        let r = try lab.cli("show", "--host", "nosuch")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("vfio-ap-sim: "), r.stderr)
        let both = try lab.cli("show", "--host", "h", "--topology", Paths.topology("large.yaml"))
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--host and --topology exclude each other"), both.stderr)
    }

    func testColourOnlyOnATerminalWithoutNoColor() throws {
        try lab.start("h", topology: Paths.topology("migration-source.yaml"))
        let plain = try lab.cli("show", "--host", "h")
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(plain.stdout.contains(esc), "a pipe gets plain text")
        XCTAssertTrue(plain.stdout.contains("05  A     A\n"), plain.stdout)
        XCTAssertTrue(try lab.cli("show", "--host", "h", "--color", "always").stdout.contains(esc + "32mA" + esc + "0m"))

        // On a terminal (script(1) gives the command a pty). swift test
        // itself sets NO_COLOR, so the first run takes it away.
        func onTerminal(_ env: String) throws -> String {
            let command = "\(env) '\(Simulator.binary)' show --host h --runtime-dir '\(lab.runtimeDir)'"
            let r = try ProcessRunner.run(["/usr/bin/script", "-qec", command, "/dev/null"], timeout: 30)
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stdout
        }
        let tty = try onTerminal("env -u NO_COLOR")
        XCTAssertTrue(tty.contains(esc + "32mA" + esc + "0m"), tty.debugDescription)
        XCTAssertFalse(try onTerminal("env NO_COLOR=1").contains(esc))
    }

    /// Inside `exec`, $VFIO_AP_SIM_HOST names the private host: `show` draws it.
    func testInsideExecShowDrawsThePrivateHost() throws {
        let r = try lab.cli(["exec", "--", "sh", "-c", "echo -5 > /sys/bus/ap/apmask && vfio-ap-sim show"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.lines.contains("05  vfio  vfio  vfio  vfio"), r.stdout)
        XCTAssertTrue(r.lines.contains("06  host  host  host  host"), r.stdout)
    }

    func testATopologyIsDrawnWithoutAHost() throws {
        let r = try lab.cli("show", "--topology", Paths.topology("hotplug.yaml"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("host hotplug: "), r.stdout)
        let bad = try lab.cli("show", "--topology", "/nonexistent.yaml")
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("/nonexistent.yaml"), bad.stderr)
        let large = try lab.cli("show", "--topology", Paths.topology("large.yaml"))
        XCTAssertTrue(large.stdout.contains("\n00-ff  host\n"), large.stdout)
    }
}
