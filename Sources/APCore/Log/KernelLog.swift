/// The host's kernel ring buffer: what `dmesg` prints.
public struct KernelLog: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        /// Nanoseconds since the host booted.
        public var timestamp: UInt64
        public var level: Level
        /// The whole line after the timestamp, prefix included
        /// (`vfio_ap_mdev 62177883-...: Userspace may not ...`).
        public var text: String
    }

    public enum Level: Int, Sendable, Comparable {
        case emerg = 0, alert, crit, err, warning, notice, info, debug
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public private(set) var entries: [Entry] = []
    /// Oldest entries are dropped past this, like the ring buffer wraps.
    public var capacity = 100_000

    public init() {}

    public mutating func append(_ text: String, level: Level, at timestamp: UInt64) {
        entries.append(Entry(timestamp: timestamp, level: level, text: text))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    /// A `dev_printk` line: `<driver> <device>: <message>`.
    public static func deviceLine(driver: String, device: String, _ message: String) -> String {
        "\(driver) \(device): \(message)"
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
