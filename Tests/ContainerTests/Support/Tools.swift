import Foundation
import TestSupport
import XCTest

/// The container runtimes besides podman, and the rootfs they run.
enum Tools {
    static let bwrap = "/usr/bin/bwrap"
    static let nspawn = "/usr/bin/systemd-nspawn"

    /// Fails (throws) naming the package when `path` is missing.
    static func require(_ path: String, package: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw FixtureError(description: "\(path) is not installed (apt-get install \(package))")
        }
    }

    /// `scripts/container-image.sh --assemble BINARY --rootfs DIR`: the test
    /// image's tree as a directory.
    static func assembleRootfs(at dir: String) throws {
        let r = try ProcessRunner.run([TestImage.script, "--assemble", Simulator.binary, "--rootfs", dir], timeout: 120)
        guard r.status == 0 else { throw FixtureError(description: "container-image.sh --rootfs failed: \(r.stderr)") }
    }
}

extension MountFixture {
    /// `vfio-ap-sim mount --layout overlay` at SCRATCH/sys (sockets in SCRATCH/run).
    static func overlay(in scratch: Scratch, name: String) throws -> MountFixture {
        let host = MountFixture(name: name + "-\(getpid())", mountpoint: scratch.path("sys"), runtimeDir: scratch.path("run"))
        try host.start(extraArguments: ["--layout", "overlay"])
        return host
    }

    /// `vfio-ap-sim dmesg` of this host.
    func kernelLog() throws -> String {
        try ProcessRunner.run([Simulator.binary, "dmesg", "--host", name, "--runtime-dir", runtimeDir]).stdout
    }
}
