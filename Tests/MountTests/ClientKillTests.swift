import Foundation
import Glibc
import TestSupport
import XCTest

/// SIGKILL of clients in the middle of their writes (issue 10, fault
/// tests): the host keeps serving, its state keeps every invariant, and
/// nothing it held for the killed client (a lock, a FUSE thread, a blocked
/// store) stays behind.
final class ClientKillTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    /// The host's thread count once it has stopped changing (idle FUSE
    /// workers and dispatch threads wind down after a burst).
    func restingThreads(_ rig: LoadRig) -> Int {
        var last = rig.threads, same = 0
        for _ in 0..<100 where same < 5 {
            usleep(200_000)
            let now = rig.threads
            same = now == last ? same + 1 : 0
            last = now
        }
        return last
    }

    /// Eight load workers killed at once in the middle of their stream of
    /// writes and socket requests, five times over.
    func testClientsKilledMidStreamLeaveTheHostServingAndConsistent() throws {
        let rig = try LoadRig(name: "killstream")
        defer { rig.cleanUp() }
        let idle = restingThreads(rig)
        var resting: [Int] = []
        for round in 0..<5 {
            let workers = try (0..<8).map { try LoadRig.Worker(rig: rig, index: $0, seed: 100 * round + $0, operations: 1_000_000) }
            // Killed mid-stream: each has done at least 100 operations.
            let deadline = Date().addingTimeInterval(60)
            while workers.contains(where: { $0.progress < 100 && $0.process.isRunning }) && Date() < deadline { usleep(20_000) }
            for w in workers { XCTAssertTrue(w.process.isRunning, "round \(round): a worker ended early: \(w.errors.text)") }
            for w in workers { kill(w.process.processIdentifier, SIGKILL) }
            LoadRig.wait(workers, timeout: 30)
            for w in workers {
                XCTAssertEqual(w.process.terminationReason, .uncaughtSignal, "round \(round)")
                XCTAssertEqual(w.process.terminationStatus, SIGKILL, "round \(round)")
            }
            XCTAssertEqual(try rig.snapshot().violations, [], "round \(round)")
            // Still taking writes (no lock left held) and answering the socket.
            XCTAssertEqual(rig.write("bus/ap/config_time", "30\n"), 0, "round \(round)")
            XCTAssertFalse(try rig.kernelLog().isEmpty, "round \(round)")
            resting.append(restingThreads(rig))
        }
        print("kill: host threads at rest: \(idle) before, \(resting) after each round of 8 killed clients")
        // A thread left behind per killed client would add 8 a round.
        XCTAssertLessThanOrEqual(resting.last!, resting.first! + 4, "threads grow with killed clients: \(resting)")
        XCTAssertEqual(rig.host.stop(), 0)
    }

    /// A writer SIGKILLed while `remove` blocks on a guest that ignores
    /// device requests: as vfio_unregister_group_dev does, the signal is
    /// logged once and the writer stays until the device is released (FUSE
    /// keeps a killed writer waiting for the reply); the host serves
    /// meanwhile; when the guest stops, the remove completes and the
    /// writer is gone.
    func testAWriterKilledWhileBlockedInRemoveWaitsForTheDevice() throws {
        let f = try MountFixture(name: "killremove")
        defer { f.cleanUp() }
        try f.start()
        let u = Expected.uuid1
        let setup = try ProcessRunner.run(["/bin/sh", "-c", """
            cd \(f.mountpoint)
            echo -5,-6 > bus/ap/apmask; echo -4,-0x47,-0xab,-0xff > bus/ap/aqmask
            echo \(u) > devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create
            echo 5 > devices/vfio_ap/matrix/\(u)/assign_adapter; echo 4 > devices/vfio_ap/matrix/\(u)/assign_domain
            "$0" guest start --host \(f.name) --runtime-dir \(f.runtimeDir) --ignore-requests g1 \(u)
            """, Simulator.binary], timeout: 15)
        XCTAssertEqual(setup.status, 0, setup.stderr)
        func log() throws -> String {
            try ProcessRunner.run([Simulator.binary, "dmesg", "--host", f.name, "--runtime-dir", f.runtimeDir]).stdout
        }
        func waitForLog(_ text: String) throws -> Bool {
            for _ in 0..<100 {
                if try log().contains(text) { return true }
                usleep(100_000)
            }
            return false
        }
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        writer.arguments = ["-c", """
            import os
            fd = os.open("\(f.path("devices/vfio_ap/matrix/\(u)/remove"))", os.O_WRONLY)
            os.write(fd, b"1")
            """]
        writer.standardOutput = FileHandle.nullDevice
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        defer { if writer.isRunning { kill(writer.processIdentifier, SIGKILL) } }
        XCTAssertTrue(try waitForLog("vfio_ap_mdev \(u): Relaying device request to user (#0)"), "the remove never blocked")
        kill(writer.processIdentifier, SIGKILL)
        let warning = "vfio_ap_mdev \(u): Device is currently in use, task \"python3\" (\(writer.processIdentifier)) blocked until device is released"
        let warned = try waitForLog(warning)
        if !warned { XCTFail("no warning for the signal: \(try log())") }
        // The host has not answered the write, so the killed writer is still there.
        XCTAssertTrue(writer.isRunning)

        // Other writes, reads and requests are served meanwhile.
        let u2 = Expected.uuid2
        XCTAssertEqual(try ProcessRunner.run(["/bin/sh", "-c", """
            cd \(f.mountpoint)
            echo \(u2) > devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create
            echo 6 > devices/vfio_ap/matrix/\(u2)/assign_adapter && echo 4 > devices/vfio_ap/matrix/\(u2)/assign_domain
            cat devices/vfio_ap/matrix/\(u2)/matrix devices/vfio_ap/matrix/\(u)/guest_matrix
            """], timeout: 15).stdout, "06.0004\n05.0004\n")

        let stop = try ProcessRunner.run([Simulator.binary, "guest", "stop", "--host", f.name, "--runtime-dir", f.runtimeDir, "g1"])
        XCTAssertEqual(stop.status, 0, stop.stderr)
        let deadline = Date().addingTimeInterval(15)
        while writer.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(writer.isRunning, "the writer stayed after the device was released")
        XCTAssertEqual(writer.terminationReason, .uncaughtSignal)
        XCTAssertEqual(writer.terminationStatus, SIGKILL)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.path("devices/vfio_ap/matrix/\(u)")), "the remove completed")

        let lines = try log().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.contains("Device is currently in use") }.count, 1, "logged once, as the kernel does")
        let guests = try ProcessRunner.run([Simulator.binary, "guest", "list", "--host", f.name, "--runtime-dir", f.runtimeDir])
        XCTAssertEqual(try TreeSnapshot(mountpoint: f.mountpoint, guestList: guests.stdout).violations, [])
        XCTAssertEqual(f.stop(), 0)
    }
}
