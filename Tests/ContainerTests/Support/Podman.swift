import Foundation
import TestSupport
import XCTest

/// Real podman as the tests drive it: a containers.conf of the test's own
/// (runc and lowered ulimits, which hosts like the CI machine need:
/// docs/CONTAINERS.md), containers named after the test and removed by
/// `removeContainers()`.
final class Podman {
    static let executable = "/usr/bin/podman"

    /// The test's containers.conf, in its scratch directory.
    let configuration: String
    private(set) var containers: [String] = []
    private let prefix: String

    static let containersConf = """
        [containers]
        default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
        [engine]
        runtime = "runc"

        """

    init(scratch: String, testName: String) throws {
        configuration = scratch + "/containers.conf"
        try Self.containersConf.write(toFile: configuration, atomically: true, encoding: .utf8)
        let safe = testName.filter { $0.isLetter || $0.isNumber }.lowercased()
        prefix = "vfio-ap-sim-test-\(getpid())-\(safe.suffix(24))"
    }

    var environment: [String: String] { ["CONTAINERS_CONF": configuration] }

    /// A container name for `role`, removed by `removeContainers()`.
    func name(_ role: String) -> String {
        let n = prefix + "-" + role
        containers.append(n)
        return n
    }

    /// `podman ARGS` to completion.
    func run(_ arguments: [String], timeout: TimeInterval = 60, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try ProcessRunner.run([Self.executable] + arguments, environment: environment, timeout: timeout, file: file, line: line)
    }

    /// tearDown: `podman rm -f` of every container this test named.
    func removeContainers() {
        guard !containers.isEmpty else { return }
        _ = try? ProcessRunner.run([Self.executable, "rm", "-f", "-i", "-t", "0"] + containers, environment: environment, timeout: 60)
    }

    /// Fails (throws, with podman's words) unless podman is installed and
    /// can start a container from `image` on this machine.
    func requireWorking(image: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw FixtureError(description: "podman is not installed (apt-get install podman runc)")
        }
        let r = try run(["run", "--rm", "--network=none", "--entrypoint", "/bin/sh", image, "-c", "echo started"])
        guard r.status == 0, r.stdout == "started\n" else {
            throw FixtureError(description: "podman cannot start a container (status \(r.status)): \(r.stderr)")
        }
    }
}
