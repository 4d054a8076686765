/// The 64-bit TAPQ GR2 value of a queue (`struct ap_tapq_hwinfo`,
/// arch/s390/include/asm/ap.h). Bit numbers in comments are IBM numbering
/// (bit 0 = most significant).
public struct HardwareInfo: Hashable, Sendable {
    public var value: UInt64

    public init(value: UInt64) { self.value = value }

    /// `TAPQ_CARD_HWINFO_MASK`: what `ap_scan_adapter` keeps in the card copy
    /// (flags, class, type, nd, ml, qd; no BS bits).
    public static let cardMask: UInt64 = 0xFFFF_0000_FFFF_0F0F

    public var cardCopy: HardwareInfo { HardwareInfo(value: value & Self.cardMask) }

    private func bit(_ ibm: Int) -> Bool { value >> UInt64(63 - ibm) & 1 == 1 }
    private mutating func setBit(_ ibm: Int, _ on: Bool) {
        let m = UInt64(1) << UInt64(63 - ibm)
        value = on ? value | m : value & ~m
    }
    private func field(shift: Int, width: Int) -> Int { Int(value >> UInt64(shift) & (1 << UInt64(width) - 1)) }
    private mutating func setField(shift: Int, width: Int, _ v: Int) {
        let m = (UInt64(1) << UInt64(width) - 1) << UInt64(shift)
        value = value & ~m | (UInt64(v) << UInt64(shift) & m)
    }

    /// Bits 0-31: the facility word that `ap_functions` prints.
    public var facilities: UInt32 { UInt32(truncatingIfNeeded: value >> 32) }
    /// Bit 0: AP special command facility.
    public var apsc: Bool { get { bit(0) } set { setBit(0, newValue) } }
    /// Bit 1: AP 4096-bit ME PKU commands (`mex4k`, AP4KM).
    public var mex4k: Bool { get { bit(1) } set { setBit(1, newValue) } }
    /// Bit 2: AP 4096-bit CRT PKU commands (`crt4k`, AP4KC).
    public var crt4k: Bool { get { bit(2) } set { setBit(2, newValue) } }
    /// Bit 3: CCA coprocessor mode.
    public var cca: Bool { get { bit(3) } set { setBit(3, newValue) } }
    /// Bit 4: accelerator mode.
    public var accel: Bool { get { bit(4) } set { setBit(4, newValue) } }
    /// Bit 5: EP11 (XCP) coprocessor mode.
    public var ep11: Bool { get { bit(5) } set { setBit(5, newValue) } }
    /// Bit 6: AP extended addressing.
    public var apxa: Bool { get { bit(6) } set { setBit(6, newValue) } }
    /// Bit 7: stateless command filtering.
    public var slcf: Bool { get { bit(7) } set { setBit(7, newValue) } }
    /// Bits 8-15: functional classification (0x80 full native card function,
    /// 0x40 only stateless functions).
    public var classification: Int { get { field(shift: 48, width: 8) } set { setField(shift: 48, width: 8, newValue) } }
    /// Bits 16-17: SE bind/associate state.
    public var bindState: Int { get { field(shift: 46, width: 2) } set { setField(shift: 46, width: 2, newValue) } }
    /// Bits 32-39: raw AP type (`raw_hwtype`).
    public var apType: Int { get { field(shift: 24, width: 8) } set { setField(shift: 24, width: 8, newValue) } }
    /// Bits 40-47: number of domains.
    public var domainCount: Int { get { field(shift: 16, width: 8) } set { setField(shift: 16, width: 8, newValue) } }
    /// Bits 52-55: maximum message length in 4 KiB units (0: the 12 KiB default).
    public var messageLengthUnits: Int { get { field(shift: 8, width: 4) } set { setField(shift: 8, width: 4, newValue) } }
    /// Bits 60-63: queue depth (`depth`).
    public var queueDepth: Int { get { field(shift: 0, width: 4) } set { setField(shift: 0, width: 4, newValue) } }

    public static let classNative = 0x80
    public static let classStatelessOnly = 0x40

    /// The mode the AP bus reports (`ap_uevent` MODE=, zcrypt type suffix):
    /// accelerator wins over CCA, CCA over EP11, as `zcrypt_cex4_card_probe` checks them.
    public var mode: APMode? {
        if accel { return .accelerator }
        if cca { return .cca }
        if ep11 { return .ep11 }
        return nil
    }

    /// `max_msg_size`: `ml * 4096`, or `AP_DEFAULT_MAX_MSG_SIZE` (12 KiB) when ml is 0.
    public var maxMessageSize: Int { messageLengthUnits > 0 ? messageLengthUnits * 4096 : 12 * 1024 }
}

extension HardwareInfo: Codable {
    /// Persisted as the `hwinfo` file prints it, `0x%016lx`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard text.hasPrefix("0x"), text.utf8.count == 18, let v = UInt64(text.dropFirst(2), radix: 16) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not 0x and 16 hex digits")
        }
        value = v
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(KernelFormat.hwinfo(value))
    }
}

public enum APMode: String, Sendable, CaseIterable {
    case cca
    case accelerator = "accel"
    case ep11

    /// The `MODE=` value of `ap_uevent`.
    public var ueventName: String { rawValue }
    /// The suffix of the zcrypt `type` string (`CEX8C`, `CEX8A`, `CEX8P`).
    public var typeSuffix: String {
        switch self {
        case .cca: return "C"
        case .accelerator: return "A"
        case .ep11: return "P"
        }
    }
}

/// AP device types (ap_bus.h `AP_DEVICE_TYPE_*`).
public enum APDeviceType {
    public static let cex4 = 10
    public static let cex8 = 14
    public static let names: [String: Int] = ["CEX4": 10, "CEX5": 11, "CEX6": 12, "CEX7": 13, "CEX8": 14]

    /// `ap_get_compatible_type`: 10...14 as is; newer raw types map to the
    /// highest known type when QACT is available; older ones are not supported (0).
    public static func compatible(rawType: Int, qact: Bool) -> Int {
        if rawType < cex4 { return 0 }
        if rawType <= cex8 { return rawType }
        return qact ? cex8 : 0
    }

    /// The generation number of the zcrypt `type` string: CEX4..CEX7 for
    /// 10..13, anything else 8 (`zcrypt_cex4_card_probe`).
    public static func generation(_ type: Int) -> Int { (10...13).contains(type) ? type - 6 : 8 }
}
