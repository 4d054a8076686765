import Foundation
import TestSupport
import XCTest

/// `exec` reads its plain command lines itself (ExecArguments.quick) and
/// leaves every other form to ArgumentParser. `--option=VALUE` always goes
/// to ArgumentParser, so each pair below runs the same request both ways:
/// what the command sees and what exec says must be the same bytes.
final class ExecArgumentsTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        root = try TestDirectory.make("execargs")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    private func exec(_ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run([Simulator.binary, "exec"] + arguments, timeout: 30)
    }

    /// Runs `exec OPTION VALUE REST` and `exec OPTION=VALUE REST`; both results must agree.
    @discardableResult
    private func bothWays(_ option: String, _ value: String, _ rest: [String],
                          file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let quick = try exec([option, value] + rest)
        let parsed = try exec(["\(option)=\(value)"] + rest)
        XCTAssertEqual(quick.status, parsed.status, "\(option) \(value)", file: file, line: line)
        XCTAssertEqual(quick.stdout, parsed.stdout, "\(option) \(value)", file: file, line: line)
        XCTAssertEqual(quick.stderr, parsed.stderr, "\(option) \(value)", file: file, line: line)
        return quick
    }

    func testNameTopologyAndLayoutReachTheCommand() throws {
        let named = try bothWays("--name", "quick-1", ["--", "/bin/sh", "-c", "echo $VFIO_AP_SIM_HOST"])
        XCTAssertEqual(named.stdout, "quick-1\n")
        let cards = try bothWays("--topology", Paths.topology("hotplug.yaml"), ["--", "/bin/ls", "/sys/bus/ap/devices"])
        let defaultCards = try exec(["--", "/bin/ls", "/sys/bus/ap/devices"])
        XCTAssertEqual(cards.status, 0, cards.stderr)
        XCTAssertNotEqual(cards.stdout, defaultCards.stdout, "--topology took no effect")
        let emulated = try bothWays("--sys", "emulated", ["--", "/bin/ls", "/sys"])
        XCTAssertEqual(emulated.stdout, "bus\nclass\ndevices\nfs\nkernel\nmodule\n")
    }

    /// `no-open`: root writing a 0444 attribute fails in write(), not in the
    /// redirection's open (docs/FIDELITY.md), so dash says something else.
    func testKernelCacheModeTakesEffect() throws {
        let write = ["--", "/bin/sh", "-c", "echo 1 > /sys/bus/ap/ap_interrupts"]
        let noOpen = try bothWays("--kernel-cache", "no-open", write)
        let names = try bothWays("--kernel-cache", "names", write)
        XCTAssertNotEqual(noOpen.status, 0)
        XCTAssertNotEqual(names.status, 0)
        XCTAssertNotEqual(noOpen.stderr, names.stderr, "--kernel-cache took no effect")
    }

    func testStateFileIsWrittenWhereSaid() throws {
        let state = root + "/host.state"
        let quick = try exec(["--state", state, "--", "/bin/sh", "-c", "echo 0x0 > /sys/bus/ap/apmask"])
        XCTAssertEqual(quick.status, 0, quick.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: state))
        let parsed = try exec(["--state=" + state, "--", "/bin/cat", "/sys/bus/ap/apmask"])
        XCTAssertEqual(parsed.status, 0, parsed.stderr)
        XCTAssertEqual(parsed.stdout, "0x0000000000000000000000000000000000000000000000000000000000000000\n",
                       "the host resumed from the file the quick form wrote")
    }

    func testRefusalsReadAsArgumentParserWritesThem() throws {
        let conflict = try bothWays("--host", "somehost", ["--name", "n", "--", "true"])
        XCTAssertEqual(conflict.status, 64)
        XCTAssertTrue(conflict.stderr.hasPrefix("Error: --host attaches to a running host: it takes no --topology, --name or --state\n"),
                      conflict.stderr)
        let badMode = try bothWays("--kernel-cache", "bogus", ["--", "true"])
        XCTAssertEqual(badMode.status, 64)
        XCTAssertTrue(badMode.stderr.hasPrefix("Error: The value 'bogus' is invalid for '--kernel-cache <mode>'"), badMode.stderr)
        let badName = try bothWays("--name", "a/b", ["--", "true"])
        XCTAssertEqual(badName.status, 1)
        // Repeated options, no command, and a second `--` are ArgumentParser's.
        let twice = try exec(["--name", "a", "--name", "b", "--", "/bin/sh", "-c", "echo $VFIO_AP_SIM_HOST"])
        XCTAssertEqual(twice.stdout, "b\n", twice.stderr)
        let none = try exec(["--"])
        XCTAssertEqual(none.status, 64)
        XCTAssertTrue(none.stderr.hasPrefix("Error: a command to run is needed"), none.stderr)
    }

    /// The command gets exec's own environment in its order, PATH and
    /// exec's variables replacing theirs in place or appended by name, as
    /// env(1) passes it on: its `env` reads the same from run to run.
    func testTheCommandsEnvironmentKeepsExecsOrder() throws {
        let r = try ProcessRunner.run(["/bin/sh", "-c", """
            env | sed 's/=.*//' > "$D/outer"
            for i in 1 2 3; do "$SIM" exec -- env | sed 's/=.*//' > "$D/inner$i" || exit 1; done
            cmp -s "$D/inner1" "$D/inner2" && cmp -s "$D/inner1" "$D/inner3" || echo "runs differ"
            """], environment: ["SIM": Simulator.binary, "D": root, "ZZ_LAST": "1", "AA_FIRST": "2", "MM_MIDDLE": "3"],
            timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "", "the command's environment changed from run to run")
        let outer = try String(contentsOfFile: root + "/outer", encoding: .utf8).split(separator: "\n").map(String.init)
        let inner = try String(contentsOfFile: root + "/inner1", encoding: .utf8).split(separator: "\n").map(String.init)
        let added = ["PATH", "SYSTEMD_DEVICE_VERIFY_SYSFS", "VFIO_AP_SIM_HOST", "VFIO_AP_SIM_RUNTIME_DIR"]
        XCTAssertEqual(inner, outer + added.filter { !outer.contains($0) })
    }
}
