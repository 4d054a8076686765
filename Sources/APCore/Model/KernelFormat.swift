/// The kernel's printf formats, one function each, used everywhere they appear.
public enum KernelFormat {
    /// Lower-case hex of `value`, zero-padded to `width` digits (`%0*lx`).
    public static func hex<T: BinaryInteger>(_ value: T, width: Int) -> String {
        let digits = String(value, radix: 16)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Upper-case hex, zero-padded (`%0*X`).
    public static func upperHex<T: BinaryInteger>(_ value: T, width: Int) -> String {
        hex(value, width: width).uppercased()
    }

    /// `%02lx.%04lx`: queue device name, matrix lines, log lines.
    public static func apqn(_ q: APQN) -> String { hex(q.card, width: 2) + "." + hex(q.domain, width: 4) }

    /// `card%02x`: card device name.
    public static func cardName(_ id: Int) -> String { "card" + hex(id, width: 2) }

    /// `0x%016lx%016lx%016lx%016lx`: apmask, aqmask, ap_config masks (67 bytes with `\n` outside).
    public static func mask(_ m: APMask) -> String { "0x" + m.words.map { hex($0, width: 16) }.joined() }

    /// `0x%08x` x 8 of the QCI words: the same text as `mask` (see kernel-sysfs.md §0.2).
    public static func qciMask(_ m: APMask) -> String { mask(m) }

    /// `0x%08X`: `ap_functions`.
    public static func functions(_ fac: UInt32) -> String { "0x" + upperHex(fac, width: 8) }

    /// `0x%016lx`: the emulator's per-queue `hwinfo` file.
    public static func hwinfo(_ value: UInt64) -> String { "0x" + hex(value, width: 16) }

    /// `ap:t%02X`: modalias.
    public static func modalias(deviceType: Int) -> String { "ap:t" + upperHex(deviceType, width: 2) }

    /// `%04lx`: control_domains lines.
    public static func domain(_ id: Int) -> String { hex(id, width: 4) }

    /// `%02lx`: adapter-only matrix lines.
    public static func adapter(_ id: Int) -> String { hex(id, width: 2) }
}
