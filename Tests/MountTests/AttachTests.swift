import Foundation
import TestSupport
import XCTest

/// `vfio-ap-sim exec --host NAME`: commands attached to a running `mount`
/// host get its tree and its events, several at once.
final class AttachTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    private var fixtures: [MountFixture] = []
    override func tearDown() { for f in fixtures { f.cleanUp() } }

    func attached(_ f: MountFixture, _ script: String) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Simulator.binary)
        p.arguments = ["exec", "--host", f.name, "--runtime-dir", f.runtimeDir, "--", "/bin/bash", "-c", script]
        p.standardInput = FileHandle.nullDevice
        return p
    }

    func testSeveralCommandsShareOneHostAndItsEvents() throws {
        let f = try MountFixture(name: "shared")
        fixtures.append(f)
        try f.start()
        let out = f.root + "/monitor"
        let monitors = (0..<2).map { i in
            attached(f, """
                udevadm monitor --udev --subsystem-match=ap > \(out)\(i) 2>&1 & m=$!
                for i in $(seq 100); do [ -e \(f.root)/go ] && break; sleep 0.1; done
                for i in $(seq 50); do grep -q 'change *\\/devices\\/ap ' \(out)\(i) && break; sleep 0.1; done
                kill $m; wait $m 2>/dev/null
                echo "$VFIO_AP_SIM_HOST $(cat /sys/bus/ap/apmask)"
                """)
        }
        let pipes = monitors.map { p -> Pipe in let pipe = Pipe(); p.standardOutput = pipe; return pipe }
        for m in monitors { try m.run() }
        // Both monitors are listening once their header lines are there.
        for i in 0..<2 {
            for _ in 0..<100 where !((try? String(contentsOfFile: "\(out)\(i)", encoding: .utf8))?.contains("UDEV - ") ?? false) { usleep(100_000) }
        }
        let r = try ProcessRunner.run([Simulator.binary, "exec", "--host", f.name, "--runtime-dir", f.runtimeDir, "--",
                                       "/bin/sh", "-c", "echo -6 > /sys/bus/ap/apmask && echo $VFIO_AP_SIM_HOST && vfio-ap-sim dmesg | wc -l"], timeout: 30)
        XCTAssertEqual(r.stdout, "shared\n1\n", r.stderr)
        FileManager.default.createFile(atPath: f.root + "/go", contents: Data())
        for m in monitors { m.waitUntilExit() }
        let mask = "0xfdffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        for (i, m) in monitors.enumerated() {
            XCTAssertEqual(m.terminationStatus, 0)
            XCTAssertEqual(String(decoding: pipes[i].fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), "shared \(mask)\n")
            let events = try String(contentsOfFile: "\(out)\(i)", encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("UDEV  [") }
            XCTAssertEqual(events.count, 9, "4 unbind + 4 bind + the mask change: \(events)")
        }
        // The host itself changed, for every user of its mount point.
        XCTAssertEqual(try String(contentsOfFile: f.path("bus/ap/apmask"), encoding: .utf8), mask + "\n")
        XCTAssertEqual(f.stop(), 0)
    }

    /// A consumer outside exec (a container's network namespace, here one
    /// made with unshare) gets the events with `vfio-ap-sim events`.
    func testEventsCommandDeliversToAnotherNetworkNamespace() throws {
        let f = try MountFixture(name: "consumer")
        fixtures.append(f)
        try f.start()
        let r = try ProcessRunner.run(["/usr/bin/unshare", "--net", "--", "/bin/bash", "-c", """
            \(Simulator.binary) events --host \(f.name) --runtime-dir \(f.runtimeDir) > \(f.root)/attached & e=$!
            for i in $(seq 50); do grep -q delivered \(f.root)/attached && break; sleep 0.1; done
            udevadm monitor --udev --subsystem-match=mdev > \(f.root)/events 2>&1 & m=$!
            for i in $(seq 50); do grep -q '^UDEV - ' \(f.root)/events && break; sleep 0.1; done
            echo \(Expected.uuid1) > \(f.path("devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create"))
            for i in $(seq 50); do grep -q 'bind ' \(f.root)/events && break; sleep 0.1; done
            kill $m $e; wait $e; echo "events exit $?"
            grep '^UDEV  \\[' \(f.root)/events | sed 's/^UDEV  \\[[0-9.]*\\] *//'
            """], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            events exit 0
            add      /devices/vfio_ap/matrix/\(Expected.uuid1) (mdev)
            bind     /devices/vfio_ap/matrix/\(Expected.uuid1) (mdev)

            """)
        XCTAssertEqual(try String(contentsOfFile: f.root + "/attached", encoding: .utf8),
                       "vfio-ap-sim: events of \(f.runtimeDir)/consumer.sock delivered here (sink 1)\n")
    }

    func testAttachingToNoHostFails() throws {
        let root = NSTemporaryDirectory() + "vfio-ap-sim-attach-none-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try ProcessRunner.run([Simulator.binary, "exec", "--host", "nosuch", "--runtime-dir", root, "--", "/bin/true"], timeout: 15)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("vfio-ap-sim: no host 'nosuch' to attach to: cannot reach the host at \(root)/nosuch.sock: "), r.stderr)
        let both = try ProcessRunner.run([Simulator.binary, "exec", "--host", "x", "--name", "y", "--", "/bin/true"], timeout: 15)
        XCTAssertEqual(both.status, 64)
        XCTAssertTrue(both.stderr.contains("--host attaches to a running host: it takes no --topology, --name or --state"), both.stderr)
    }
}
