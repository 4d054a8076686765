import TestSupport
import XCTest

/// Consumers in bubblewrap and systemd-nspawn, on the assembled rootfs
/// (scripts/container-image.sh --rootfs), with a host's overlay as /sys.
final class BubblewrapTests: XCTestCase {
    var scratch: Scratch!
    var host: MountFixture?

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        scratch = try Scratch(self)
    }

    override func tearDown() {
        host?.cleanUp()
        scratch?.cleanUp()
    }

    func testBubblewrapConsumer() throws {
        try Tools.require(Tools.bwrap, package: "bubblewrap")
        let rootfs = scratch.path("rootfs")
        try Tools.assembleRootfs(at: rootfs)
        let host = try MountFixture.overlay(in: scratch, name: "bwrap")
        self.host = host
        let r = try ProcessRunner.run([Tools.bwrap, "--ro-bind", rootfs, "/", "--bind", host.mountpoint, "/sys",
                                       "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                                       "--unshare-pid", "--die-with-parent", "/bin/sh", "-c", Procedure.script])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, Procedure.transcript)
        XCTAssertTrue(Procedure.isBusyMessage(r.stderr), r.stderr)
        XCTAssertTrue(try host.kernelLog().contains(Procedure.busyLogLine))
    }

    /// nspawn mounts its own sysfs over /sys's subdirectories even with
    /// --bind=DIR:/sys, so the tree goes to /run/fakesys and the container
    /// (with CAP_SYS_ADMIN) binds it over /sys itself. --register=no and
    /// --keep-unit: no systemd-machined or D-Bus needed; --pipe: the
    /// command's stdout and stderr as they are (without a terminal nspawn
    /// would merge them).
    func testSystemdNspawnConsumer() throws {
        try Tools.require(Tools.nspawn, package: "systemd-container")
        let rootfs = scratch.path("rootfs")
        try Tools.assembleRootfs(at: rootfs)
        let host = try MountFixture.overlay(in: scratch, name: "nspawn")
        self.host = host
        let r = try ProcessRunner.run([Tools.nspawn, "-q", "--pipe", "--register=no", "--keep-unit", "-D", rootfs,
                                       "--bind=\(host.mountpoint):/run/fakesys", "--capability=CAP_SYS_ADMIN",
                                       "/bin/sh", "-c", "mount --rbind /run/fakesys /sys || exit 1\n" + Procedure.script],
                                      timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, Procedure.transcript)
        XCTAssertTrue(Procedure.isBusyMessage(r.stderr), r.stderr)
    }
}
