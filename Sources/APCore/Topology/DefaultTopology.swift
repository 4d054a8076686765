import Foundation

/// The embedded default topology (a data file shipped as a resource).
public enum DefaultTopology {
    public static let fileName = "default.yaml"

    public static var text: String {
        guard let url = Bundle.module.url(forResource: "default", withExtension: "yaml", subdirectory: "Topologies"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            fatalError("the embedded default topology is missing from the APCore resource bundle")
        }
        return text
    }

    public static func load() throws -> Topology {
        try TopologyDecoder(file: "(embedded) \(fileName)").decode(text)
    }
}
