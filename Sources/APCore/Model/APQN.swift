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
}

extension APQN: CustomStringConvertible {
    /// `%02lx.%04lx`, the queue device name and every log line's APQN.
    public var description: String { KernelFormat.apqn(self) }
}
