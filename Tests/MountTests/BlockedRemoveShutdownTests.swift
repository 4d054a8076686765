import Foundation
import Glibc
import TestSupport
import XCTest

/// A writer blocked in `remove` (its guest ignores device requests) must not
/// keep the emulated host alive: when exec's command ends, the host goes
/// away and the blocked write fails with ENODEV.
final class BlockedRemoveShutdownTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    func testExecEndsWhileARemoveIsBlocked() throws {
        let started = Date()
        let r = try Simulator.bash("""
            U=\(Expected.uuid1)
            echo -5,-6 > /sys/bus/ap/apmask; echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask
            echo $U > \(Expected.typeDir)/create
            vfio-ap-sim guest start --ignore-requests g1 $U
            python3 -c '
            import os, errno
            fd = os.open("/sys/devices/vfio_ap/matrix/\(Expected.uuid1)/remove", os.O_WRONLY)
            try:
                os.write(fd, b"1"); print("removed")
            except OSError as e:
                print(errno.errorcode[e.errno])
            ' > /tmp/blocked-remove.out &
            sleep 1
            vfio-ap-sim dmesg | grep -c "Relaying device request to user (#0)"
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "1\n")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "exec must not wait for the blocked writer")
        // The background writer got its answer when the host went away.
        var answer = ""
        for _ in 0..<50 {
            answer = (try? String(contentsOfFile: "/tmp/blocked-remove.out", encoding: .utf8)) ?? ""
            if !answer.isEmpty { break }
            usleep(100_000)
        }
        try? FileManager.default.removeItem(atPath: "/tmp/blocked-remove.out")
        XCTAssertEqual(answer, "ENODEV\n", "the blocked store is answered before the session goes (docs/FIDELITY.md)")
    }

    /// The same for `mount` stopped by SIGTERM, a few times over (the
    /// answer must not depend on who wins a race with the unmount).
    func testMountStoppedWhileARemoveIsBlocked() throws {
        for round in 0..<3 {
            let f = try MountFixture(name: "blocked\(round)")
            defer { f.cleanUp() }
            try f.start()
            let remove = f.path("devices/vfio_ap/matrix/\(Expected.uuid1)/remove")
            let setup = try ProcessRunner.run(["/bin/sh", "-c", """
                cd \(f.mountpoint)
                echo -5,-6 > bus/ap/apmask; echo -4,-0x47,-0xab,-0xff > bus/ap/aqmask
                echo \(Expected.uuid1) > devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create
                "$0" guest start --host \(f.name) --runtime-dir \(f.runtimeDir) --ignore-requests g1 \(Expected.uuid1)
                """, Simulator.binary], timeout: 15)
            XCTAssertEqual(setup.status, 0, setup.stderr)
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            writer.arguments = ["python3", "-c", """
                import os, errno
                fd = os.open("\(remove)", os.O_WRONLY)
                try:
                    os.write(fd, b"1"); print("removed")
                except OSError as e:
                    print(errno.errorcode[e.errno])
                """]
            let out = PipeCollector()
            writer.standardOutput = out.pipe
            out.start()
            try writer.run()
            // Blocked: the first device request is in the log.
            var blocked = false
            for _ in 0..<50 where !blocked {
                usleep(100_000)
                let log = try ProcessRunner.run([Simulator.binary, "dmesg", "--host", f.name, "--runtime-dir", f.runtimeDir])
                blocked = log.stdout.contains("Relaying device request to user (#0)")
            }
            XCTAssertTrue(blocked)
            XCTAssertEqual(f.stop(), 0)
            let deadline = Date().addingTimeInterval(10)
            while writer.isRunning && Date() < deadline { usleep(10_000) }
            if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }
            out.waitForEOF(timeout: 5)
            XCTAssertEqual(out.text, "ENODEV\n", "round \(round)")
        }
    }
}
