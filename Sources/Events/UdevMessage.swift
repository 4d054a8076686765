/// A uevent as udevd re-broadcasts it to libudev monitors (systemd
/// src/libsystemd/sd-device/device-monitor.c `device_monitor_send_device`):
/// a 40-byte header ("libudev\0", magic 0xfeedcafe, header size, offset and
/// length of the properties, MurmurHash2 of subsystem and devtype and the
/// tag bloom filter for the kernel-side socket filters), then the
/// properties as NUL-terminated `KEY=value` strings.
public enum UdevMessage {
    public static let magic: UInt32 = 0xfeed_cafe
    public static let headerSize = 40

    /// `properties` are the record's, plus what udevd adds.
    public static func encode(_ record: UeventRecord, usecInitialized: UInt64, tags: [String] = []) -> [UInt8] {
        var props = record.properties + ["USEC_INITIALIZED=\(usecInitialized)"]
        if !tags.isEmpty {
            let joined = ":" + tags.joined(separator: ":") + ":"
            props += ["TAGS=" + joined, "CURRENT_TAGS=" + joined]
        }
        var body: [UInt8] = []
        for p in props { body += Array(p.utf8) + [0] }
        var bloom: UInt64 = 0
        for t in tags { bloom |= bloom64(t) }
        var h: [UInt8] = Array("libudev".utf8) + [0]
        h += bigEndian(magic)
        h += hostOrder(UInt32(headerSize))
        h += hostOrder(UInt32(headerSize))  // properties_off
        h += hostOrder(UInt32(body.count))  // properties_len
        h += bigEndian(murmurHash2(Array(record.subsystem.utf8)))
        h += bigEndian(record.devtype.map { murmurHash2(Array($0.utf8)) } ?? 0)
        h += bigEndian(UInt32(truncatingIfNeeded: bloom >> 32))
        h += bigEndian(UInt32(truncatingIfNeeded: bloom))
        return h + body
    }

    /// MurmurHash2, 32 bit, seed 0 (systemd's `string_hash32`).
    public static func murmurHash2(_ key: [UInt8], seed: UInt32 = 0) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h = seed ^ UInt32(key.count)
        var i = 0
        while key.count - i >= 4 {
            var k = UInt32(key[i]) | UInt32(key[i + 1]) << 8 | UInt32(key[i + 2]) << 16 | UInt32(key[i + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
            i += 4
        }
        let rest = key.count - i
        if rest >= 3 { h ^= UInt32(key[i + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(key[i + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(key[i])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }

    /// `string_bloom64`: four bits of the tag's hash.
    static func bloom64(_ tag: String) -> UInt64 {
        let hash = murmurHash2(Array(tag.utf8))
        var bits: UInt64 = 0
        for shift: UInt32 in [0, 6, 12, 18] { bits |= 1 << UInt64((hash >> shift) & 63) }
        return bits
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func hostOrder(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
}
