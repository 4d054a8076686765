import Foundation

/// Where the repository's own files are, for tests that read them.
public enum Paths {
    /// The repository root: this file is Tests/TestSupport/Paths.swift.
    public static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var demo: String { repository + "/demo" }
    public static func topology(_ name: String) -> String { demo + "/topologies/" + name }
}
