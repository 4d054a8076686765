import Foundation
import TestSupport
import XCTest

/// SIGKILL of `mount` leaves no dead mount ("Transport endpoint is not
/// connected"): libfuse's auto_unmount takes it down, and a new `mount`
/// on the directory works (issue 10, point 8).
final class CrashRecoveryTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    func testSIGKILLOfMountLeavesNoDeadMount() throws {
        let f = try MountFixture(name: "killed")
        defer { f.cleanUp() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Simulator.binary)
        p.arguments = ["mount", "--name", f.name, "--runtime-dir", f.runtimeDir, f.mountpoint]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        _ = out.fileHandleForReading.availableData  // the ready line
        XCTAssertTrue(f.isMounted)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        for _ in 0..<50 where f.isMounted { usleep(100_000) }
        XCTAssertFalse(f.isMounted, "the kernel-side mount went with the server")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.mountpoint), [])
        // The same name and directory serve again (the stale socket is replaced).
        try f.start()
        XCTAssertEqual(try String(contentsOfFile: f.path("bus/ap/ap_domain"), encoding: .utf8), "4\n")
        XCTAssertEqual(f.stop(), 0)
    }

    /// A child the command leaves running sees an empty, read-only /sys
    /// once the host is gone, never the machine's (issue 10, point 2).
    func testALeftoverChildDoesNotFindTheMachinesSys() throws {
        for layout in ["overlay", "emulated"] {
            let out = NSTemporaryDirectory() + "vfio-ap-sim-leftover-\(getpid())-\(layout)"
            defer { try? FileManager.default.removeItem(atPath: out) }
            let r = try ProcessRunner.run([Simulator.binary, "exec", "--sys", layout, "--", "/bin/bash", "-c",
                                           "(sleep 1; { ls -A /sys; echo x > /sys/vfio-ap-sim-probe; } > \(out) 2>&1) & exit 0"],
                                          timeout: 30)
            XCTAssertEqual(r.status, 0, r.stderr)
            var text = ""
            for _ in 0..<50 {
                text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
                if text.contains("probe") { break }
                usleep(100_000)
            }
            XCTAssertEqual(text, "/bin/bash: line 1: /sys/vfio-ap-sim-probe: Read-only file system\n", layout)
        }
    }
}
