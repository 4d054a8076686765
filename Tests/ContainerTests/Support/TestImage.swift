import Foundation
import TestSupport
import XCTest

/// The image the tests run: scripts/container-image.sh --assemble from the
/// built vfio-ap-sim (busybox, the binary, the libraries
/// ldd lists), tagged by a digest of what went in, so it is built once and
/// reused until the binary changes. VFIO_AP_SIM_TEST_IMAGE names another
/// image to use instead (e.g. the Containerfile's, from the script's default
/// mode): it needs /bin/sh, vfio-ap-sim as its entry point, and cat, cut,
/// grep, ls, seq, sleep (fractions) and sort.
enum TestImage {
    static let repository = "localhost/vfio-ap-sim-tests"
    static let script = Paths.repository + "/scripts/container-image.sh"

    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: String?

    static func tag(podman: Podman) throws -> String {
        if let given = ProcessInfo.processInfo.environment["VFIO_AP_SIM_TEST_IMAGE"], !given.isEmpty { return given }
        lock.lock(); defer { lock.unlock() }
        if let built { return built }
        let binary = Simulator.binary
        let digest = try ProcessRunner.run(["/bin/sh", "-c", "cat \"$1\" \"$2\" | sha256sum", "sh", binary, script])
        guard digest.status == 0, let hex = digest.stdout.split(separator: " ").first, hex.count == 64 else {
            throw FixtureError(description: "cannot digest \(binary): \(digest.stderr)")
        }
        let tag = repository + ":" + hex.prefix(16)
        let r = try ProcessRunner.run([script, "--assemble", binary, "--tag", tag, "--if-missing"],
                                      environment: podman.environment, timeout: 120)
        guard r.status == 0, r.lines.last == tag else {
            throw FixtureError(description: "container-image.sh --assemble failed (status \(r.status)): \(r.stderr)")
        }
        // Older builds' images go.
        let list = try podman.run(["images", "--format", "{{.Repository}}:{{.Tag}}", repository])
        let stale = list.lines.filter { $0.hasPrefix(repository + ":") && $0 != tag }
        if !stale.isEmpty { _ = try? podman.run(["rmi", "-f"] + stale) }
        built = tag
        return tag
    }
}
