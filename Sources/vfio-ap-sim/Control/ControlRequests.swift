import APCore
import Events
import Glibc
import MatrixPicture
import SystemPackage
import VFIOMigration

/// What a host answers on its control socket (docs/CONTROL.md). Kernel
/// refusals are answered `ERR errno=N text`.
enum ControlRequests {
    /// `tree` is the emulated tree's own mount point (what `exec --host`
    /// lays over its /sys); `servedAt` where users see it.
    static func handler(for guests: GuestManager, events: EventHub, servedAt: String, tree: String)
        -> @Sendable (String, [Int32]) -> Result<String, UserError> {
        { line, fds in
            do {
                let words = requestWords(line)
                // Only events-attach takes a file descriptor.
                if words.first != "events-attach" { for fd in fds { close(fd) } }
                switch words.first {
                case "info"?:
                    guard words.count == 1 else { throw UserError("request '\(line)': 'info' takes no arguments") }
                    return .success("name \(guests.host.name)\nmountpoint \(servedAt)\ntree \(tree)\npid \(getpid())\n")
                case "events-attach"?:
                    // A uevent netlink socket made in the client's network
                    // namespace: the host's events go there too.
                    guard words.count == 1, fds.count == 1 else {
                        for fd in fds { close(fd) }
                        throw UserError("events-attach takes one netlink socket and no arguments")
                    }
                    return .success("\(events.attach(NetlinkSink(adopting: fds[0])))\n")
                case "events-detach"?:
                    guard words.count == 2, let id = Int(words[1]) else { throw UserError("events-detach takes a sink id") }
                    events.detach(id)
                    return .success("")
                default:
                    break
                }
                return .success(try answer(words, guests))
            } catch let e as Errno {
                return .failure(UserError("errno=\(e.rawValue) \(e.kernelDescription)"))
            } catch {
                return .failure(UserError("\(error)"))
            }
        }
    }

    static func answer(_ w: [String], _ guests: GuestManager) throws -> String {
        let host = guests.host
        let devices = guests.devices
        func arg(_ i: Int) throws -> String {
            guard i < w.count else { throw UserError("request '\(w.joined(separator: " "))' needs more arguments") }
            return w[i]
        }
        func int(_ i: Int) throws -> Int {
            guard let v = Int(try arg(i)) else { throw UserError("'\(w[i])' is not a number") }
            return v
        }
        /// The `device_state` word: a name or any u32. A number past the
        /// uAPI enum goes to the kernel as it is, which decides its errno.
        func state(_ i: Int) throws -> UInt32 {
            if let s = MigrationState(name: try arg(i)) { return s.rawValue }
            if let v = UInt32(w[i]) { return v }
            throw UserError("unknown migration state '\(w[i])'")
        }
        /// The request takes exactly `n` words after its name (`names` words).
        func takes(_ n: Int, _ names: Int = 2) throws {
            let name = w.prefix(names).joined(separator: " ")
            if w.count < names + n { _ = try arg(names + n - 1) }
            guard w.count == names + n else {
                throw UserError("request '\(w.joined(separator: " "))': '\(name)' takes "
                    + (n == 0 ? "no arguments" : n == 1 ? "1 argument" : "\(n) arguments"))
            }
        }
        /// Between `min` and `max` words after the name.
        func takes(_ min: Int, upTo max: Int) throws {
            if w.count < 2 + min { _ = try arg(1 + min) }
            guard w.count <= 2 + max else {
                throw UserError("request '\(w.joined(separator: " "))': '\(w[0]) \(w[1])' takes \(min) to \(max) arguments")
            }
        }
        switch (w.first, w.count > 1 ? w[1] : "") {
        case ("name", _): try takes(0, 1); return host.name + "\n"
        case ("dmesg", _): try takes(0, 1); return host.dmesg()
        case ("hw", _): return try HardwareRequest.answer(w, host)
        case ("show", _):
            // A copy of the state is taken under the host's lock (the
            // collections are copy-on-write, so this is cheap); the 65,536
            // cells of a large host are drawn and written outside it.
            try takes(0, 1)
            let state = host.read { $0 }
            return PictureJSON.encode(MatrixPicture(state, name: host.name))
        case ("guest", "start"):
            var options = GuestManager.StartOptions()
            var mdevs: [String] = []
            var i = 3
            while i < w.count {
                switch w[i] {
                case "--ignore-requests": options.ignoreDeviceRequests = true
                case "--paused": options.paused = true
                case "--migration":
                    i += 1
                    guard let m = MigrationSetting(rawValue: try arg(i)) else { throw UserError("--migration takes on, off or auto") }
                    options.migration = m
                default: mdevs.append(w[i].lowercased())
                }
                i += 1
            }
            _ = try arg(2)
            guard !mdevs.isEmpty else {
                throw UserError("request '\(w.joined(separator: " "))': 'guest start' takes a guest name and at least one mdev UUID")
            }
            try guests.start(w[2], mdevs: mdevs, options: options)
            return ""
        case ("guest", "stop"): try takes(1); try guests.stop(w[2]); return ""
        case ("guest", "pause"): try takes(1); try guests.setPaused(w[2], true); return ""
        case ("guest", "resume"): try takes(1); try guests.setPaused(w[2], false); return ""
        case ("guest", "list"):
            try takes(0)
            return guests.guests.map { "\($0.name) \($0.paused ? "paused" : "running") \($0.mdev ?? "-")\n" }.joined()
        case ("guest", "show"): try takes(1); return try guests.describe(w[2])
        case ("guest", "log"): try takes(1); return try guests.guest(w[2]).qemuLog.map { $0 + "\n" }.joined()
        case ("guest", "info"):
            try takes(1)
            let g = try guests.guest(w[2])
            return "\(g.mdev ?? "-") \(g.migration.rawValue) \(g.paused ? "paused" : "running")\n"
        case ("guest", "log-append"):
            _ = try guests.guest(try arg(2))
            guests.appendLog(w[2], w.dropFirst(3).joined(separator: " "))
            return ""
        case ("mdev", "exists"):
            try takes(1)
            let u = w[2].lowercased()
            return host.read { $0.mdevIndex(uuid: u) != nil } ? "yes\n" : "no\n"
        case ("mdev", "flags"): try takes(1); return "\(try devices.migrationFlags(try arg(2)).rawValue)\n"
        case ("mdev", "state"): try takes(1); return "\(try devices.state(try arg(2)))\n"
        case ("mdev", "set-state"):
            try takes(2)
            let opened = try devices.setState(try arg(2), rawState: try state(3))
            return "\(try devices.state(try arg(2)))\(opened ? " data_fd" : "")\n"
        case ("mdev", "data-size"): try takes(1); return "\(try devices.dataSize(try arg(2)))\n"
        case ("mdev", "read"):
            try takes(2, upTo: 3)
            let offset = w.count > 4 ? try int(4) : nil
            return Hex.encode(try devices.read(try arg(2), count: try int(3), offset: offset)) + "\n"
        case ("mdev", "write"):
            try takes(2, upTo: 3)
            guard let bytes = Hex.decode(try arg(3)) else { throw UserError("write takes hex bytes") }
            let offset = w.count > 4 ? try int(4) : nil
            return "\(try devices.write(try arg(2), bytes, offset: offset))\n"
        case ("mdev", "close-fd"): try takes(1); devices.closeFile(try arg(2)); return ""
        case ("mdev", "reset"): try takes(1); try devices.reset(try arg(2)); return ""
        default:
            throw UserError("unknown request '\(w.joined(separator: " "))'")
        }
    }
}

/// A request line's words, split at spaces. An ASCII line (every request
/// but one naming something in Unicode) is split byte by byte: splitting
/// the long line of a resume write Character by Character took most of
/// its time. Any other line is split as before, by Character (a space
/// followed by a combining mark is no separator there).
func requestWords(_ line: String) -> [String] {
    var text = line
    return text.withUTF8 { bytes -> [String] in
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        guard ascii else { return line.split(separator: " ").map(String.init) }
        var words: [String] = []
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x20 {
            if i > start { words.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)) }
            start = i + 1
        }
        return words
    }
}

/// Binary data on the line protocol: lower-case hex, "-" for none.
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Two lower-case digits a byte (`%02x`), written straight into the
    /// string: a String per byte made a 1 MiB save stream cost 0.2 s.
    static func encode(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "-" }
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = digits[Int(b >> 4)]
                out[2 * i + 1] = digits[Int(b & 0x0f)]
            }
            return bytes.count * 2
        }
    }

    static func decode(_ text: String) -> [UInt8]? { decode(utf8: Array(text.utf8)) }

    /// A reply's hex (digits or `-`, then a newline) without its surrounding
    /// blanks, trimmed byte-wise: Foundation's trimming of a 2 MiB reply
    /// cost more than the decoding.
    static func decode(trimmingASCIIWhitespace text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        let blank: (UInt8) -> Bool = { $0 == 0x20 || (0x09...0x0d).contains($0) }
        guard let first = bytes.firstIndex(where: { !blank($0) }), let last = bytes.lastIndex(where: { !blank($0) }) else {
            return decode(utf8: [])
        }
        return decode(utf8: Array(bytes[first...last]))
    }

    private static func decode(utf8 chars: [UInt8]) -> [UInt8]? {
        if chars == [0x2d] { return [] }
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = hexValue(chars[i]), let lo = hexValue(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}
