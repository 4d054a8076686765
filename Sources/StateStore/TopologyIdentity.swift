import APCore
import Foundation

/// Which topology a state file's host was booted from: its name and the
/// CRC-32 of the decoded topology in a canonical JSON form, so that
/// comments, key order or `0x05` against `5` do not matter but any real
/// difference does.
public struct TopologyIdentity: Codable, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var digest: String

    public init(name: String, digest: String) {
        self.name = name
        self.digest = digest
    }

    public init(_ topology: Topology) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(topology)
        self.init(name: topology.name, digest: CRC32.text(data.withUnsafeBytes(CRC32.checksum)))
    }

    public var description: String { "'\(name)' (digest \(digest))" }
}
