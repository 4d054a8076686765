import Foundation
import XCTest

/// The built `vfio-ap-sim`: the test targets depend on the executable, so it
/// sits next to the test bundle in the same build directory.
public enum Simulator {
    public static var binary: String {
        let candidates = [
            Bundle(for: BundleMarker.self).bundleURL.deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.executableURL?.deletingLastPathComponent(),
        ].compactMap { $0 }
        for dir in candidates {
            let path = dir.appendingPathComponent("vfio-ap-sim").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return candidates[0].appendingPathComponent("vfio-ap-sim").path
    }

    /// Mounting needs /dev/fuse: skip without it; fail (and skip) without the binary.
    public static func requireFuse() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else {
            throw XCTSkip("/dev/fuse is missing: these tests mount emulated hosts through FUSE")
        }
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            XCTFail("vfio-ap-sim not found at \(binary)")
            throw XCTSkip("no vfio-ap-sim binary")
        }
    }
}

private final class BundleMarker {}
