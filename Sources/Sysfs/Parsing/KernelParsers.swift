import APCore
import SystemPackage

/// The kernel's input parsers, each with the exact acceptance rules of its
/// source (lib/kstrtox.c, lib/vsprintf.c, drivers/s390/crypto/ap_bus.c,
/// lib/uuid.c). Inputs are the bytes of one write() up to the first NUL,
/// as the NUL-terminated buffer `kernfs_fop_write_iter` hands to store().
public enum KernelParsers {
    /// The store's view of the buffer: a C string.
    public static func cString(_ bytes: [UInt8]) -> [UInt8] {
        if let nul = bytes.firstIndex(of: 0) { return Array(bytes[..<nul]) }
        return bytes
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isXDigit(_ c: UInt8) -> Bool { hexValue(c) != nil }
    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        default: return nil
        }
    }
    static func lower(_ c: UInt8) -> UInt8 { (0x41...0x5a).contains(c) ? c | 0x20 : c }
    static func at(_ s: [UInt8], _ i: Int) -> UInt8 { i < s.count ? s[i] : 0 }

    /// `_parse_integer_fixup_radix` for base 0: `0x` + hex digit is hex,
    /// a leading `0` octal, else decimal. Returns the base and where digits start.
    static func fixupRadix(_ s: [UInt8], _ i: Int) -> (base: Int, start: Int) {
        if at(s, i) == 0x30 {
            if lower(at(s, i + 1)) == 0x78 && isXDigit(at(s, i + 2)) { return (16, i + 2) }
            return (8, i)
        }
        return (10, i)
    }

    /// `_parse_integer`: digits valid in `base` from `i`; the value wraps
    /// modulo 2^64 and `overflow` tells whether it did.
    static func parseDigits(_ s: [UInt8], _ i: Int, base: Int) -> (value: UInt64, count: Int, overflow: Bool) {
        var value: UInt64 = 0
        var overflow = false
        var j = i
        while j < s.count, let d = hexValue(s[j]), d < base {
            let (m, o1) = value.multipliedReportingOverflow(by: UInt64(base))
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { overflow = true }
            value = a
            j += 1
        }
        return (value, j - i, overflow)
    }

    /// `kstrtoul(buf, 0, &v)`: optional `+`, base prefix, digits, one optional
    /// `\n`, end. EINVAL for anything else, ERANGE past 64 bits.
    public static func kstrtoul(_ bytes: [UInt8]) throws -> UInt64 {
        let s = cString(bytes)
        var i = 0
        if at(s, 0) == 0x2b { i = 1 }
        let (base, start) = fixupRadix(s, i)
        let (value, count, overflow) = parseDigits(s, start, base: base)
        if count == 0 { throw Errno.invalidArgument }
        if overflow { throw Errno.outOfRange }
        var end = start + count
        if at(s, end) == 0x0a { end += 1 }
        if end != s.count { throw Errno.invalidArgument }
        return value
    }

    /// `kstrtobool`: y/Y/t/T/1 true, n/N/f/F/0 false, on/off; else EINVAL.
    public static func kstrtobool(_ bytes: [UInt8]) throws -> Bool {
        let s = cString(bytes)
        switch at(s, 0) {
        case UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "1"): return true
        case UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "0"): return false
        case UInt8(ascii: "o"), UInt8(ascii: "O"):
            switch at(s, 1) {
            case UInt8(ascii: "n"), UInt8(ascii: "N"): return true
            case UInt8(ascii: "f"), UInt8(ascii: "F"): return false
            default: throw Errno.invalidArgument
            }
        default: throw Errno.invalidArgument
        }
    }

    /// `sscanf(buf, "%d", &v) == 1` (base 10) or `"%i"` (base 0): leading
    /// white space skipped, an optional `-` (the kernel's vsscanf takes no
    /// `+`), trailing text ignored; the value is truncated to int. Nil when
    /// nothing was converted.
    public static func scanInt(_ bytes: [UInt8], detectBase: Bool = false) -> Int32? {
        let s = cString(bytes)
        var i = 0
        while i < s.count, [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d].contains(s[i]) { i += 1 }
        var negative = false
        var digitPos = i
        if at(s, i) == 0x2d { negative = true; digitPos = i + 1 }
        guard isDigit(at(s, digitPos)) else { return nil }
        let (base, start) = detectBase ? fixupRadix(s, digitPos) : (10, digitPos)
        // A digit is known to follow, so at least one is consumed.
        let (value, _, _) = parseDigits(s, start, base: base)
        let v = negative ? 0 &- value : value
        return Int32(truncatingIfNeeded: v)
    }

    /// `hex2bitmap` / `ap_hex2bitmap`: `0x` (lower-case x) or `x` prefix, up
    /// to 64 hex digits left-aligned, one optional `\n`, end; empty input is
    /// an empty mask.
    public static func hexBitmap(_ bytes: [UInt8]) throws -> APMask {
        let s = cString(bytes)
        var i = 0
        if at(s, 0) == 0x30 && at(s, 1) == 0x78 { i = 1 }
        if at(s, i) == 0x78 { i += 1 }
        var mask = APMask()
        var bit = 0
        while i < s.count, let v = hexValue(s[i]), bit < APMask.bitCount {
            for n in 0..<4 where v & (8 >> n) != 0 { mask.insert(bit + n) }
            bit += 4
            i += 1
        }
        if at(s, i) == 0x0a { i += 1 }
        if i != s.count { throw Errno.invalidArgument }
        return mask
    }

    /// `ap_parse_bitmap_str`: a leading `+` or `-` edits `current` with
    /// `modify_bitmap` terms (`+N`, `-N`, `+A-B`, separated by runs of `,`
    /// and `\n`); anything else is an absolute `hex2bitmap` mask.
    public static func bitmapEdit(_ bytes: [UInt8], current: APMask) throws -> APMask {
        let s = cString(bytes)
        guard let first = s.first, first == 0x2b || first == 0x2d else { return try hexBitmap(s) }
        var mask = current
        var i = 0
        while i < s.count {
            let sign = s[i]
            i += 1
            guard sign == 0x2b || sign == 0x2d else { throw Errno.invalidArgument }
            let a = simpleStrtoul(s, &i)
            guard let start = a, start < UInt64(APMask.bitCount) else { throw Errno.invalidArgument }
            var end = start
            if at(s, i) == 0x2d {
                i += 1
                guard let z = simpleStrtoul(s, &i), start <= z, z < UInt64(APMask.bitCount) else { throw Errno.invalidArgument }
                end = z
            }
            for id in Int(start)...Int(end) {
                if sign == 0x2b { mask.insert(id) } else { mask.remove(id) }
            }
            while at(s, i) == 0x2c || at(s, i) == 0x0a { i += 1 }
        }
        return mask
    }

    /// `simple_strtoul(str, &end, 0)`: nil when no digit was consumed.
    static func simpleStrtoul(_ s: [UInt8], _ i: inout Int) -> UInt64? {
        let (base, start) = fixupRadix(s, i)
        let (value, count, _) = parseDigits(s, start, base: base)
        guard count > 0 else { return nil }
        i = start + count
        return value
    }

    /// `uuid_is_valid` (`guid_parse`): 36 characters, dashes at 8, 13, 18
    /// and 23, hex digits elsewhere; returns the lower-case device name.
    public static func guid(_ s: [UInt8]) throws -> String {
        guard s.count >= 36 else { throw Errno.invalidArgument }
        for i in 0..<36 {
            if [8, 13, 18, 23].contains(i) {
                guard s[i] == 0x2d else { throw Errno.invalidArgument }
            } else {
                guard isXDigit(s[i]) else { throw Errno.invalidArgument }
            }
        }
        return String(decoding: s[0..<36].map(lower), as: UTF8.self)
    }

    /// `ap_config` store: the input cut to `AP_CONFIG_STRLEN` (201) bytes,
    /// split by `strsep(",\n")`; three tokens needed, each a `hex2bitmap` mask.
    public static func apConfig(_ bytes: [UInt8]) throws -> APMatrix {
        let s = Array(cString(bytes).prefix(201))
        var tokens: [[UInt8]] = []
        var current: [UInt8] = []
        for c in s {
            if c == 0x2c || c == 0x0a { tokens.append(current); current = [] } else { current.append(c) }
        }
        tokens.append(current)
        guard tokens.count >= 3 else { throw Errno.invalidArgument }
        return APMatrix(adapters: try hexBitmap(tokens[0]), domains: try hexBitmap(tokens[1]),
                        controlDomains: try hexBitmap(tokens[2]))
    }

    /// `driver_set_override`: at most PAGE_SIZE - 2 bytes; cut at the first
    /// `\n`; empty clears (nil).
    public static func driverOverride(_ bytes: [UInt8]) throws -> String? {
        // drivers/base/driver.c driver_set_override: `len >= PAGE_SIZE - 1`
        // tests the write's count, before strlen() looks for a NUL.
        guard bytes.count < 4095 else { throw Errno.invalidArgument }
        let s = cString(bytes)
        let line = s.prefix { $0 != 0x0a }
        if line.isEmpty { return nil }
        return String(decoding: line, as: UTF8.self)
    }

    /// `sysfs_streq` of a device name (bind, unbind, drivers_probe): one
    /// trailing `\n` ignored.
    public static func deviceName(_ bytes: [UInt8]) -> String {
        var s = cString(bytes)
        if s.last == 0x0a { s.removeLast() }
        return String(decoding: s, as: UTF8.self)
    }
}
