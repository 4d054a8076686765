/// The host's kernel ring buffer: what `dmesg` prints.
public struct KernelLog: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        /// Nanoseconds since the host booted.
        public var timestamp: UInt64
        public var level: Level
        /// syslog facility: 0 (kernel) for the kernel's own lines, 1 (user)
        /// by default for lines written to /dev/kmsg.
        public var facility = 0
        /// The whole line after the timestamp, prefix included
        /// (`vfio_ap_mdev 62177883-...: Userspace may not ...`).
        public var text: String
    }

    public enum Level: Int, Sendable, Comparable, Codable {
        case emerg = 0, alert, crit, err, warning, notice, info, debug
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public private(set) var entries: [Entry] = []
    /// Oldest entries are dropped past this, like the ring buffer wraps.
    public var capacity = 100_000
    /// How many entries were dropped: `entries[i]` has sequence number
    /// `dropped + i` (printk's record seq, from 0 at boot).
    public private(set) var dropped = 0

    public init() {}

    /// A log as a state file kept it: `entries` are the ones still in the
    /// ring, the first with sequence number `dropped`.
    public init(entries: [Entry], dropped: Int, capacity: Int) {
        self.entries = entries
        self.dropped = dropped
        self.capacity = capacity
    }

    /// The same log without its lines (the state file keeps them apart).
    public var withoutEntries: KernelLog { KernelLog(entries: [], dropped: dropped, capacity: capacity) }

    public mutating func append(_ text: String, level: Level, facility: Int = 0, at timestamp: UInt64) {
        entries.append(Entry(timestamp: timestamp, level: level, facility: facility, text: text))
        if entries.count > capacity {
            let n = entries.count - capacity
            entries.removeFirst(n)
            dropped += n
        }
    }

    /// The sequence number the next entry gets.
    public var nextSequence: Int { dropped + entries.count }

    /// A `dev_printk` line: `<driver> <device>: <message>`.
    public static func deviceLine(driver: String, device: String, _ message: String) -> String {
        "\(driver) \(device): \(message)"
    }

    /// A /dev/kmsg record (`devkmsg_read`, Documentation/ABI/testing/dev-kmsg):
    /// `prio,seq,usec,flags;text\n` with prio = facility << 3 | level,
    /// non-printable bytes as `\xNN`.
    public static func kmsgRecord(_ e: Entry, sequence: Int) -> String {
        var text = ""
        for b in e.text.utf8 {
            if b < 0x20 || b >= 0x7f || b == UInt8(ascii: "\\") {
                text += "\\x" + String(b, radix: 16).leftPadded(to: 2)
            } else {
                text.unicodeScalars.append(Unicode.Scalar(b))
            }
        }
        return "\(e.facility << 3 | e.level.rawValue),\(sequence),\(e.timestamp / 1000),-;\(text)\n"
    }

    /// `dmesg`'s default rendering, `[%5lu.%06lu] text`.
    public static func render(_ e: Entry) -> String {
        let seconds = e.timestamp / 1_000_000_000
        let micros = e.timestamp % 1_000_000_000 / 1000
        let s = String(seconds)
        let pad = s.count < 5 ? String(repeating: " ", count: 5 - s.count) : ""
        return "[\(pad)\(s).\(String(format6: micros))] \(e.text)"
    }
}

extension String {
    /// `%06lu`.
    init(format6 value: UInt64) {
        let s = String(value)
        self = s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
