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
        XCTAssertTrue(["ENODEV\n", "ECONNABORTED\n", "ENOTCONN\n"].contains(answer), answer)
    }
}
