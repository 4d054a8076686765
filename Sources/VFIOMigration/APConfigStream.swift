import APCore

/// The save/resume stream of the vfio_ap driver: `struct vfio_ap_config`
/// with its `struct vfio_ap_queue_info` entries (patch 03) as s390x lays
/// them out — big-endian, natural alignment, zeroed padding:
///
///     0  u32 num_queues, 4 bytes padding
///     8  per queue: u64 TAPQ GR2 hwinfo, u16 APQN, 6 bytes padding
///
/// Total `8 + 16 * N` bytes.
public struct APConfigStream: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var hardwareInfo: HardwareInfo
        public var apqn: APQN
        public init(hardwareInfo: HardwareInfo, apqn: APQN) {
            self.hardwareInfo = hardwareInfo
            self.apqn = apqn
        }
    }

    public static let headerSize = 8
    public static let entrySize = 16

    /// `num_queues`: the APQN count of the guest matrix.
    public var queueCount: UInt32
    public var entries: [Entry]

    public init(queueCount: UInt32, entries: [Entry]) {
        self.queueCount = queueCount
        self.entries = entries
    }

    /// `vfio_ap_allocate_config`: header plus one entry per APQN counted.
    public static func size(queueCount: Int) -> Int { headerSize + entrySize * queueCount }

    /// The bytes the kernel's buffer holds: entries not filled stay zero.
    public func encoded() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size(queueCount: Int(queueCount)))
        put(UInt64(queueCount) << 32, at: 0, in: &out)
        for (k, e) in entries.enumerated() where k < Int(queueCount) {
            let base = Self.headerSize + k * Self.entrySize
            put(e.hardwareInfo.value, at: base, in: &out)
            out[base + 8] = UInt8(e.apqn.rawValue >> 8)
            out[base + 9] = UInt8(e.apqn.rawValue & 0xff)
        }
        return out
    }

    private func put(_ v: UInt64, at offset: Int, in out: inout [UInt8]) {
        for i in 0..<8 { out[offset + i] = UInt8(truncatingIfNeeded: v >> UInt64(56 - 8 * i)) }
    }

    /// `num_queues` as the first four bytes give it (big-endian).
    public static func queueCount(in bytes: [UInt8]) -> UInt32? {
        guard bytes.count >= 4 else { return nil }
        return bytes[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Reads a whole stream; nil when it is shorter than its header says.
    public static func decode(_ bytes: [UInt8]) -> APConfigStream? {
        guard let n = queueCount(in: bytes), bytes.count >= size(queueCount: Int(n)) else { return nil }
        var entries: [Entry] = []
        for k in 0..<Int(n) {
            let base = headerSize + k * entrySize
            let hw = bytes[base..<base + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let raw = UInt16(bytes[base + 8]) << 8 | UInt16(bytes[base + 9])
            entries.append(Entry(hardwareInfo: HardwareInfo(value: hw), apqn: APQN(rawValue: raw)))
        }
        return APConfigStream(queueCount: n, entries: entries)
    }
}
