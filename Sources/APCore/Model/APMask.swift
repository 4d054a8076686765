/// A 256-bit AP bitmap in s390 (MSB-first) bit order: ID n is the bit
/// `1 << (63 - n % 64)` of word `n / 64` (`set_bit_inv`, `test_bit_inv`).
/// Adapters (APM), usage domains (AQM) and control domains (ADM) all use it.
public struct APMask: Hashable, Sendable {
    public static let bitCount = 256

    /// The four 64-bit words, word 0 holding IDs 0...63.
    public private(set) var words: [UInt64]

    public init() { words = [0, 0, 0, 0] }

    public init(words: [UInt64]) {
        precondition(words.count == 4, "an AP mask has four 64-bit words")
        self.words = words
    }

    public init<S: Sequence>(ids: S) where S.Element == Int {
        self.init()
        for id in ids { insert(id) }
    }

    public static let allOnes = APMask(words: [.max, .max, .max, .max])
    public static let empty = APMask()

    /// The first `count` IDs (0 ..< count) set.
    public static func firstIDs(_ count: Int) -> APMask { APMask(ids: 0..<min(count, bitCount)) }

    public func contains(_ id: Int) -> Bool {
        guard (0..<Self.bitCount).contains(id) else { return false }
        return words[id / 64] & (1 << UInt64(63 - id % 64)) != 0
    }

    public mutating func insert(_ id: Int) {
        precondition((0..<Self.bitCount).contains(id))
        words[id / 64] |= 1 << UInt64(63 - id % 64)
    }

    public mutating func remove(_ id: Int) {
        precondition((0..<Self.bitCount).contains(id))
        words[id / 64] &= ~(1 << UInt64(63 - id % 64))
    }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The set IDs in ascending order (`for_each_set_bit_inv`).
    public var ids: [Int] {
        var result: [Int] = []
        for (w, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                let lead = bits.leadingZeroBitCount
                result.append(w * 64 + lead)
                bits &= ~(UInt64(1) << UInt64(63 - lead))
            }
        }
        return result
    }

    /// The highest set ID, or nil.
    public var highestID: Int? { ids.last }

    public func intersection(_ other: APMask) -> APMask {
        APMask(words: zip(words, other.words).map { $0 & $1 })
    }

    public func union(_ other: APMask) -> APMask {
        APMask(words: zip(words, other.words).map { $0 | $1 })
    }

    public func subtracting(_ other: APMask) -> APMask {
        APMask(words: zip(words, other.words).map { $0 & ~$1 })
    }

    public func intersects(_ other: APMask) -> Bool { !intersection(other).isEmpty }
}

extension APMask: Codable {
    /// Persisted as the kernel prints it: `0x` and 64 hex digits.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let mask = APMask(kernelText: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not 0x and 64 hex digits")
        }
        self = mask
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(KernelFormat.mask(self))
    }

    /// `0x` and 64 hex digits, as `KernelFormat.mask` writes them.
    init?(kernelText text: String) {
        let digits = Array(text.utf8)
        guard digits.count == 66, text.hasPrefix("0x") else { return nil }
        var words: [UInt64] = []
        for w in 0..<4 {
            let start = 2 + w * 16
            guard let word = UInt64(String(decoding: digits[start..<start + 16], as: UTF8.self), radix: 16) else { return nil }
            words.append(word)
        }
        self.init(words: words)
    }
}
