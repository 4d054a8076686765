import APCore

/// The `hw` requests of the control socket (docs/CONTROL.md): run-time
/// changes of the emulated machine, handed to APCore's `HardwareChange`.
enum HardwareRequest {
    static func answer(_ w: [String], _ host: S390Host) throws -> String {
        let line = w.joined(separator: " ")
        let noScan = w.last == "--no-scan"
        let words = noScan ? Array(w.dropLast()) : w
        switch words.count > 1 ? words[1] : "" {
        case "show":
            guard words.count == 2, !noScan else { throw UserError("request '\(line)': 'hw show' takes no arguments") }
            return host.read { $0.hardwareDescription }
        case "scan":
            guard words.count == 2, !noScan else { throw UserError("request '\(line)': 'hw scan' takes no arguments") }
            host.update { $0.rescanBus() }
            return ""
        default:
            let change = try parse(words, line)
            try host.update { try $0.applyHardwareChange(change, scan: !noScan) }
            return ""
        }
    }

    /// `hw adapter|domain|control-domain add|remove ID`, `hw card
    /// configure|deconfigure|checkstop|clear ID`.
    static func parse(_ w: [String], _ line: String) throws -> HardwareChange {
        let usage = "'hw' takes: adapter|domain|control-domain add|remove ID, card configure|deconfigure|checkstop|clear ID, "
            + "scan, show (changes optionally followed by --no-scan)"
        guard w.count == 4 else { throw UserError("request '\(line)': \(usage)") }
        let id = try number(w[3])
        switch (w[1], w[2]) {
        case ("adapter", "add"): return .addAdapter(id)
        case ("adapter", "remove"): return .removeAdapter(id)
        case ("domain", "add"): return .addDomain(id)
        case ("domain", "remove"): return .removeDomain(id)
        case ("control-domain", "add"): return .addControlDomain(id)
        case ("control-domain", "remove"): return .removeControlDomain(id)
        case ("card", "configure"): return .configureCard(id)
        case ("card", "deconfigure"): return .deconfigureCard(id)
        case ("card", "checkstop"): return .checkstopCard(id)
        case ("card", "clear"): return .clearCheckstop(id)
        default: throw UserError("request '\(line)': \(usage)")
        }
    }

    /// An adapter or domain ID: decimal, or hexadecimal after `0x`.
    static func number(_ text: String) throws -> Int {
        let lower = text.lowercased()
        let value = lower.hasPrefix("0x") ? Int(lower.dropFirst(2), radix: 16) : Int(lower, radix: 10)
        guard let v = value, v >= 0, v < 1 << 16, !text.hasPrefix("+") else {
            throw UserError("'\(text)' is not an adapter or domain ID (decimal, or hexadecimal after 0x)")
        }
        return v
    }
}
