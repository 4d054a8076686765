/// CRC-32 as zlib, gzip and PNG compute it (IEEE 802.3, reflected,
/// polynomial 0xEDB88320): the state file's payload checksum, so that
/// `python3 -c 'import zlib; ...'` can check a file by hand.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes(checksum) }
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 { bytes.withUnsafeBytes(checksum) }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// `0x` and 8 lower-case hex digits, as the header writes it.
    static func text(_ crc: UInt32) -> String {
        let digits = String(crc, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
