import Foundation
import TestSupport
import XCTest

/// Several hosts of one topology on one machine (two CI jobs on one runner):
/// without --name each gets a name of its own; a second host with a taken
/// --name is refused and told where the other one is.
final class SideBySideTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    private var fixtures: [MountFixture] = []
    override func tearDown() { for f in fixtures { f.cleanUp() } }

    func testFourHostsOfTheDefaultTopologyAtOnce() throws {
        let shared = NSTemporaryDirectory() + "vfio-ap-sim-sidebyside-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: shared) }
        let hosts = (0..<4).map { i -> MountFixture in
            let f = MountFixture(name: "h\(i)", mountpoint: "\(shared)/sys\(i)", runtimeDir: shared + "/run")
            fixtures.append(f)
            return f
        }
        // Started at once, not one after the other.
        let failures = UnsafeMutableBufferPointer<String>.allocate(capacity: hosts.count)
        failures.initialize(repeating: "")
        defer { failures.deallocate() }
        nonisolated(unsafe) let slots = failures
        DispatchQueue.concurrentPerform(iterations: hosts.count) { i in
            do { try hosts[i].start(named: false) } catch { slots[i] = "\(error)" }
        }
        XCTAssertEqual(Array(failures), Array(repeating: "", count: hosts.count))
        let names = hosts.compactMap(\.hostName)
        XCTAssertEqual(names.count, 4, hosts.map(\.readyLine).joined(separator: "\n"))
        XCTAssertEqual(Set(names).count, 4, "\(names)")
        for n in names {
            XCTAssertTrue(n.hasPrefix("s390-vfio-ap-example-"), n)
            XCTAssertEqual(n.count, "s390-vfio-ap-example-".count + 6, n)
        }
        // Each host is driven on its own: a different adapter per host.
        for (i, h) in hosts.enumerated() {
            let uuid = Expected.uuid1
            let r = try ProcessRunner.run(["/bin/sh", "-c", """
                cd \(h.mountpoint)
                echo -\(i + 5) > bus/ap/apmask
                echo \(uuid) > devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create
                echo \(i + 5) > devices/vfio_ap/matrix/\(uuid)/assign_adapter
                echo 4 > devices/vfio_ap/matrix/\(uuid)/assign_domain
                """], timeout: 15)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        for (i, h) in hosts.enumerated() {
            XCTAssertEqual(try String(contentsOfFile: h.path("devices/vfio_ap/matrix/\(Expected.uuid1)/matrix"), encoding: .utf8),
                           String(format: "%02x.0004\n", i + 5), "host \(i) kept its own state")
            let r = try ProcessRunner.run([Simulator.binary, "dmesg", "--host", names[i], "--runtime-dir", shared + "/run"], timeout: 15)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("] vfio_ap matrix: MDEV: Registered\n"), r.stdout)
        }
        for h in hosts { XCTAssertEqual(h.stop(), 0) }
        for h in hosts { XCTAssertFalse(h.isMounted) }
    }

    func testASecondHostWithTheSameNameIsRefused() throws {
        let first = try MountFixture(name: "same")
        fixtures.append(first)
        try first.start()
        let second = MountFixture(name: "same", mountpoint: first.root + "/sys2", runtimeDir: first.runtimeDir)
        try FileManager.default.createDirectory(atPath: second.mountpoint, withIntermediateDirectories: true)
        let r = try ProcessRunner.run([Simulator.binary, "mount", "--name", "same", "--runtime-dir", first.runtimeDir,
                                       second.mountpoint], timeout: 15)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        let socket = first.runtimeDir + "/same.sock"
        XCTAssertTrue(r.stderr.hasPrefix("vfio-ap-sim: a host named 'same' is already running at \(first.mountpoint) (pid "), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix(", control socket \(socket)): give this one another --name, or stop that one\n"), r.stderr)
        XCTAssertFalse(MountFixture.isMounted(second.mountpoint))
        // The first host still answers.
        XCTAssertEqual(try String(contentsOfFile: first.path("bus/ap/ap_domain"), encoding: .utf8), "4\n")
    }
}
