/// An AP queue number: adapter (card) ID and domain (queue) index,
/// `AP_MKQID(card, queue) = card << 8 | queue`.
public struct APQN: Hashable, Comparable, Sendable {
    public var card: Int
    public var domain: Int

    public init(card: Int, domain: Int) {
        precondition((0..<256).contains(card) && (0..<256).contains(domain))
        self.card = card
        self.domain = domain
    }

    public init(rawValue: UInt16) {
        self.init(card: Int(rawValue >> 8), domain: Int(rawValue & 0xff))
    }

    public var rawValue: UInt16 { UInt16(card << 8 | domain) }

    public static func < (lhs: APQN, rhs: APQN) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Hashes the 16-bit queue number, not two Ints: every queue lookup
    /// hashes an APQN (65,536 per boot of the large host, per save, per resume).
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

extension APQN: CustomStringConvertible {
    /// `%02lx.%04lx`, the queue device name and every log line's APQN.
    public var description: String { KernelFormat.apqn(self) }
}

extension APQN: Codable, CodingKeyRepresentable {
    /// Persisted as its device name, `05.0004`, also as a dictionary key.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let q = APQN(deviceName: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not an APQN (xx.yyyy)")
        }
        self = q
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// `xx.yyyy` in hex, as `KernelFormat.apqn` writes it.
    public init?(deviceName: String) {
        let parts = deviceName.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 4,
              let card = Int(parts[0], radix: 16), let domain = Int(parts[1], radix: 16),
              (0..<256).contains(card), (0..<256).contains(domain) else { return nil }
        self.init(card: card, domain: domain)
    }

    public var codingKey: CodingKey { APQNKey(stringValue: description) }

    public init?<T: CodingKey>(codingKey: T) { self.init(deviceName: codingKey.stringValue) }

    private struct APQNKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
