import TestSupport
import XCTest

/// A consumer container that takes a host's `mount --layout overlay DIR` as
/// its /sys (`podman run -v DIR:/sys:rslave`, no privileges) runs the
/// vfio-ap.rst procedure with a shell, changes the host everyone else sees,
/// and still sees the machine's own /sys entries.
final class PodmanConsumerTests: XCTestCase {
    var scratch: Scratch!
    var host: MountFixture?

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        scratch = try Scratch(self)
    }

    override func tearDown() {
        scratch?.podman.removeContainers()
        host?.cleanUp()
        scratch?.cleanUp()
    }

    func testConsumerRunsTheDocumentedProcedureAtSys() throws {
        let podman = scratch.podman
        let image = try TestImage.tag(podman: podman)
        try podman.requireWorking(image: image)
        let host = try MountFixture.overlay(in: scratch, name: "consumer")
        self.host = host

        let r = try podman.run(["run", "--rm", "--name", podman.name("consumer"), "--network=none",
                                "-v", host.mountpoint + ":/sys:rslave", "--entrypoint", "/bin/sh", image,
                                "-c", Procedure.script])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, Procedure.transcript)
        XCTAssertTrue(Procedure.isBusyMessage(r.stderr), r.stderr)
        // The same host, as the machine and its other users see it.
        XCTAssertEqual(try String(contentsOfFile: host.path("bus/ap/apmask"), encoding: .utf8), Procedure.apmaskSecured)
        XCTAssertTrue(try host.kernelLog().contains(Procedure.busyLogLine))
    }

    /// Nothing a consumer does reaches the machine's own sysfs: every sysfs
    /// mount below its /sys is read-only, even in a privileged container
    /// (whose own /sys would be writable). Only the mount table is read.
    func testMachineEntriesAreReadOnlyInTheConsumer() throws {
        let podman = scratch.podman
        let image = try TestImage.tag(podman: podman)
        let host = try MountFixture.overlay(in: scratch, name: "readonly")
        self.host = host

        let r = try podman.run(["run", "--rm", "--name", podman.name("privileged"), "--network=none", "--privileged",
                                "-v", host.mountpoint + ":/sys:rslave", "--entrypoint", "/bin/sh", image, "-c", """
                                    grep ' /sys' /proc/self/mountinfo | grep -c ' - sysfs '
                                    grep ' /sys' /proc/self/mountinfo | grep ' - sysfs ' | cut -d' ' -f6 | cut -d, -f1 | sort -u
                                    grep ' /sys/devices/system ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1
                                    """])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.lines
        XCTAssertGreaterThan(Int(lines.first ?? "") ?? 0, 10, "the machine's entries are there: \(r.stdout)")
        XCTAssertEqual(Array(lines.dropFirst()), ["ro", "ro"], "every sysfs mount read-only: \(r.stdout)")
    }
}
