/// A 256-bit AP bitmap in s390 (MSB-first) bit order: ID n is the bit
/// `1 << (63 - n % 64)` of word `n / 64` (`set_bit_inv`, `test_bit_inv`).
/// Adapters (APM), usage domains (AQM) and control domains (ADM) all use it.
public struct APMask: Hashable, Sendable {
    public static let bitCount = 256

    /// The four 64-bit words, word 0 holding IDs 0...63, stored inline: a
    /// mask is a value of 32 bytes, and intersecting two allocates nothing
    /// (the sharing check intersects masks for every assignment).
    private var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    /// The four words as an array, word 0 first.
    public var words: [UInt64] { [w0, w1, w2, w3] }

    public init() {}

    public init(words: [UInt64]) {
        precondition(words.count == 4, "an AP mask has four 64-bit words")
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    private init(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    public init<S: Sequence>(ids: S) where S.Element == Int {
        self.init()
        for id in ids { insert(id) }
    }

    public static let allOnes = APMask(.max, .max, .max, .max)
    public static let empty = APMask()

    /// The first `count` IDs (0 ..< count) set.
    public static func firstIDs(_ count: Int) -> APMask { APMask(ids: 0..<min(count, bitCount)) }

    private func word(_ w: Int) -> UInt64 {
        switch w {
        case 0: return w0
        case 1: return w1
        case 2: return w2
        default: return w3
        }
    }

    private mutating func setWord(_ w: Int, _ value: UInt64) {
        switch w {
        case 0: w0 = value
        case 1: w1 = value
        case 2: w2 = value
        default: w3 = value
        }
    }

    public func contains(_ id: Int) -> Bool {
        guard (0..<Self.bitCount).contains(id) else { return false }
        return word(id / 64) & (1 << UInt64(63 - id % 64)) != 0
    }

    public mutating func insert(_ id: Int) {
        precondition((0..<Self.bitCount).contains(id))
        setWord(id / 64, word(id / 64) | 1 << UInt64(63 - id % 64))
    }

    public mutating func remove(_ id: Int) {
        precondition((0..<Self.bitCount).contains(id))
        setWord(id / 64, word(id / 64) & ~(1 << UInt64(63 - id % 64)))
    }

    public var isEmpty: Bool { w0 | w1 | w2 | w3 == 0 }
    public var count: Int { w0.nonzeroBitCount + w1.nonzeroBitCount + w2.nonzeroBitCount + w3.nonzeroBitCount }

    /// The set IDs in ascending order (`for_each_set_bit_inv`).
    public var ids: [Int] {
        var result: [Int] = []
        result.reserveCapacity(count)
        for w in 0..<4 {
            var bits = word(w)
            while bits != 0 {
                let lead = bits.leadingZeroBitCount
                result.append(w * 64 + lead)
                bits &= ~(UInt64(1) << UInt64(63 - lead))
            }
        }
        return result
    }

    /// The highest set ID, or nil.
    public var highestID: Int? {
        for w in stride(from: 3, through: 0, by: -1) where word(w) != 0 {
            return w * 64 + 63 - word(w).trailingZeroBitCount
        }
        return nil
    }

    public func intersection(_ other: APMask) -> APMask {
        APMask(w0 & other.w0, w1 & other.w1, w2 & other.w2, w3 & other.w3)
    }

    public func union(_ other: APMask) -> APMask {
        APMask(w0 | other.w0, w1 | other.w1, w2 | other.w2, w3 | other.w3)
    }

    public func subtracting(_ other: APMask) -> APMask {
        APMask(w0 & ~other.w0, w1 & ~other.w1, w2 & ~other.w2, w3 & ~other.w3)
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
