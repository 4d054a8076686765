import Foundation

/// The embedded default topology (a data file shipped as a resource).
public enum DefaultTopology {
    public static let fileName = "default.yaml"

    /// Compiled into the binary (SwiftPM's embedInCode): no resource
    /// directory to ship beside it, and no Bundle lookup on every start.
    public static var text: String { String(decoding: PackageResources.default_yaml, as: UTF8.self) }

    public static func load() throws -> Topology {
        try TopologyDecoder(file: "(embedded) \(fileName)").decode(text)
    }
}
