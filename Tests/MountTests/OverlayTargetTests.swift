import TestSupport
import XCTest

/// Where `mount --layout overlay` may lay its tree: an empty directory, or
/// one holding only empty directories (the fs/cgroup runc makes when a
/// container takes the directory as /sys before the host is served); a
/// directory with anything else in it is refused and left as it was.
final class OverlayTargetTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        root = try TestDirectory.make("overlaytarget", subdirectories: ["sys"])
    }

    override func tearDown() {
        if MountFixture.isMounted(root + "/sys") { _ = try? ProcessRunner.run(["/bin/umount", "-l", root + "/sys"]) }
        try? FileManager.default.removeItem(atPath: root)
    }

    func testEmptyDirectoriesAreAccepted() throws {
        try FileManager.default.createDirectory(atPath: root + "/sys/fs/cgroup", withIntermediateDirectories: true)
        let host = MountFixture(name: "overlaytarget-\(getpid())", mountpoint: root + "/sys", runtimeDir: root + "/run")
        defer { host.cleanUp() }
        try host.start(extraArguments: ["--layout", "overlay"])
        XCTAssertEqual(try String(contentsOfFile: host.path("devices/vfio_ap/matrix/features"), encoding: .utf8),
                       "guest_matrix hotplug ap_config migratable\n")
        XCTAssertEqual(host.stop(), 0)
        XCTAssertFalse(host.isMounted)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/sys/fs"), ["cgroup"])
    }

    func testADirectoryWithAFileIsRefused() throws {
        try FileManager.default.createDirectory(atPath: root + "/sys/fs/cgroup", withIntermediateDirectories: true)
        try "keep\n".write(toFile: root + "/sys/fs/cgroup/notes", atomically: true, encoding: .utf8)
        let r = try ProcessRunner.run([Simulator.binary, "mount", "--layout", "overlay", "--runtime-dir", root + "/run",
                                       root + "/sys"], timeout: 15)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "vfio-ap-sim: \(root)/sys: not an empty directory (only empty directories, such as a container runtime's fs/cgroup, may be there)\n")
        XCTAssertFalse(MountFixture.isMounted(root + "/sys"))
        XCTAssertEqual(try String(contentsOfFile: root + "/sys/fs/cgroup/notes", encoding: .utf8), "keep\n")
    }
}
