import TestSupport
import XCTest

/// `vfio-ap-sim exec` inside a container: the image's entry point is
/// vfio-ap-sim, the container needs /dev/fuse and CAP_SYS_ADMIN (FUSE mount,
/// private mount namespace, the overlay's binds), and nothing else.
final class ExecInContainerTests: XCTestCase {
    var scratch: Scratch!

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        scratch = try Scratch(self)
    }

    override func tearDown() { scratch?.cleanUp() }

    func exec(_ flags: [String], _ script: String) throws -> ProcessResult {
        let podman = scratch.podman
        let image = try TestImage.tag(podman: podman)
        try podman.requireWorking(image: image)
        return try podman.run(["run", "--rm", "--name", podman.name("exec"), "--network=none"] + flags
                              + [image, "exec", "--", "sh", "-c", script])
    }

    func testExecInsideAContainer() throws {
        let r = try exec(["--device", "/dev/fuse", "--cap-add", "SYS_ADMIN"], """
            cat /sys/devices/vfio_ap/matrix/features
            cat /sys/devices/system/cpu/online
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, Procedure.features + Procedure.cpuOnline)
    }

    /// The procedure, and the kernel log, from inside (the host lives as
    /// long as the command).
    func testExecRunsTheProcedureInsideAContainer() throws {
        let r = try exec(["--device", "/dev/fuse", "--cap-add", "SYS_ADMIN"], Procedure.script + "\nvfio-ap-sim dmesg")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix(Procedure.transcript), r.stdout)
        XCTAssertTrue(r.stdout.contains(Procedure.busyLogLine), r.stdout)
    }

    /// Without CAP_SYS_ADMIN the mount namespace is refused, and exec says so.
    func testExecWithoutSysAdminFailsWithTheReason() throws {
        let r = try exec(["--device", "/dev/fuse"], "true")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("Operation not permitted"), r.stderr)
    }

    /// Without --device /dev/fuse libfuse finds no device ("fuse: device not
    /// found, try 'modprobe fuse' first"; fusermount3, which `mount` uses for
    /// auto_unmount, words it "fuse device not found").
    func testExecWithoutFuseDeviceFailsWithTheReason() throws {
        let r = try exec(["--cap-add", "SYS_ADMIN"], "true")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("device not found"), r.stderr)
    }
}
