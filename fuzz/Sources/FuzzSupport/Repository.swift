import Foundation

/// The repository's own files (the shipped topologies), found from this
/// source file's path: fuzz/Sources/FuzzSupport/Repository.swift.
public enum Repository {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var topologyDirectory: String { root + "/demo/topologies" }

    /// The text of demo/topologies/NAME; a missing file ends the harness
    /// (it cannot fuzz what it was meant to).
    public static func topology(_ name: String) -> String {
        let path = topologyDirectory + "/" + name
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            fatalError("fuzz harness: cannot read \(path)")
        }
        return text
    }

    /// Every shipped topology file name, sorted.
    public static var topologyNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: topologyDirectory)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted()
    }
}
