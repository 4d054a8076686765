/// The first line of a state file: what the file is, which version of the
/// format, whose state it holds, and how long the payload after it is and
/// what its CRC-32 is, so that a truncated or damaged file is recognised.
///
/// ```
/// {"format":"vfio-ap-sim-state","version":1,"host":"NAME","generation":7,
///  "topology":{"name":"...","digest":"0x1a2b3c4d"},"payload":{"bytes":N,"crc32":"0x..."}}
/// <N bytes of payload JSON>
/// ```
public struct StateFileHeader: Codable, Equatable, Sendable {
    public static let formatName = "vfio-ap-sim-state"
    /// The version this vfio-ap-sim writes and the newest it reads.
    public static let currentVersion = 1

    public var format: String
    public var version: Int
    /// The host's name (its control socket), reused when it is resumed
    /// without `--name`.
    public var host: String
    /// Counts the saves since the file was created.
    public var generation: UInt64
    public var topology: TopologyIdentity
    public var payload: PayloadDescription

    public struct PayloadDescription: Codable, Equatable, Sendable {
        public var bytes: Int
        public var crc32: String
    }

    public init(host: String, generation: UInt64, topology: TopologyIdentity, payload: PayloadDescription) {
        format = Self.formatName
        version = Self.currentVersion
        self.host = host
        self.generation = generation
        self.topology = topology
        self.payload = payload
    }
}
