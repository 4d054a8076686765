import Foundation

/// A directory of a test's own under the temporary directory:
/// `vfio-ap-sim-LABEL-PID-XXXXXXXX`, unique across runs and parallel test
/// processes, with `subdirectories` made in it. The test removes it in its
/// tearDown, after unmounting whatever it mounted there.
public enum TestDirectory {
    public static func make(_ label: String, subdirectories: [String] = [], mode: Int? = nil) throws -> String {
        let path = NSTemporaryDirectory() + "vfio-ap-sim-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        let attributes: [FileAttributeKey: Any]? = mode.map { [.posixPermissions: $0] }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: attributes)
        for sub in subdirectories {
            try FileManager.default.createDirectory(atPath: path + "/" + sub, withIntermediateDirectories: true)
        }
        return path
    }
}
