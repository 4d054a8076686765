import Foundation

/// The state of a quiet host as a client sees it, read through the mount
/// (and `guest list` from the control socket), and the invariants of
/// issue 10's load test checked on it.
public struct TreeSnapshot: Equatable {
    public struct Mdev: Equatable {
        public var adapters: Set<Int> = []
        public var domains: Set<Int> = []
        public var controlDomains: Set<Int> = []
        public var guestAdapters: Set<Int> = []
        public var guestDomains: Set<Int> = []
        public var apqns: [APQNName] {
            adapters.sorted().flatMap { a in domains.sorted().map { APQNName(card: a, domain: $0) } }
        }
    }

    public struct APQNName: Hashable, Comparable, CustomStringConvertible {
        public var card: Int
        public var domain: Int
        public init(card: Int, domain: Int) {
            self.card = card
            self.domain = domain
        }
        public var description: String { String(format: "%02x.%04x", card, domain) }
        public static func < (a: APQNName, b: APQNName) -> Bool { (a.card, a.domain) < (b.card, b.domain) }
    }

    public var mdevs: [String: Mdev] = [:]
    public var apmask: Set<Int> = []
    public var aqmask: Set<Int> = []
    /// Queue device name -> bound driver (nil: none).
    public var drivers: [String: String?] = [:]
    /// vfio_ap queue -> its `status`.
    public var status: [String: String] = [:]
    public var availableInstances = ""
    public var bindings = ""
    /// Guest name -> the mdev it holds (nil: none).
    public var guests: [String: String?] = [:]

    static let uuidPattern = #"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"#

    public init(mountpoint sys: String, guestList: String) throws {
        func text(_ path: String) throws -> String { try String(contentsOfFile: sys + "/" + path, encoding: .utf8) }
        let matrix = "devices/vfio_ap/matrix"
        for name in try FileManager.default.contentsOfDirectory(atPath: sys + "/" + matrix)
        where name.range(of: Self.uuidPattern, options: .regularExpression) != nil {
            var m = Mdev()
            (m.adapters, m.domains) = Self.matrixLines(try text("\(matrix)/\(name)/matrix"))
            (m.guestAdapters, m.guestDomains) = Self.matrixLines(try text("\(matrix)/\(name)/guest_matrix"))
            m.controlDomains = Set(try text("\(matrix)/\(name)/control_domains").split(separator: "\n").compactMap { Int($0, radix: 16) })
            // ap_config's third mask is the matrix's ADM; the guest's ADM
            // is not a file of its own, so it is not compared here.
            mdevs[name] = m
        }
        apmask = Self.mask(try text("bus/ap/apmask"))
        aqmask = Self.mask(try text("bus/ap/aqmask"))
        let devices = sys + "/bus/ap/devices"
        for name in try FileManager.default.contentsOfDirectory(atPath: devices) where name.contains(".") {
            let driver = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(devices)/\(name)/driver")
            drivers.updateValue(driver.map { ($0 as NSString).lastPathComponent }, forKey: name)
            if driver.map({ $0.hasSuffix("/vfio_ap") }) == true {
                status[name] = try text("bus/ap/devices/\(name)/status").trimmingCharacters(in: .newlines)
            }
        }
        availableInstances = try text("\(matrix)/mdev_supported_types/vfio_ap-passthrough/available_instances")
        bindings = try text("bus/ap/bindings")
        for line in guestList.split(separator: "\n") {
            let w = line.split(separator: " ").map(String.init)
            guard w.count == 3 else { throw FixtureError(description: "guest list line '\(line)'") }
            guests[w[0]] = w[2] == "-" ? nil : w[2]
        }
    }

    /// `matrix`/`guest_matrix`: `AA.DDDD`, or `AA.` / `.DDDD` when one side is empty.
    static func matrixLines(_ s: String) -> (Set<Int>, Set<Int>) {
        var a = Set<Int>(), d = Set<Int>()
        for line in s.split(separator: "\n") {
            let parts = line.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 2 {
                if let x = Int(parts[0], radix: 16) { a.insert(x) }
                if let y = Int(parts[1], radix: 16) { d.insert(y) }
            }
        }
        return (a, d)
    }

    /// `0x` + 64 hex digits, MSB first: bit 0 is ID 0.
    static func mask(_ s: String) -> Set<Int> {
        var ids = Set<Int>()
        for (k, c) in s.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(2).enumerated() {
            guard let v = c.hexDigitValue else { continue }
            for b in 0..<4 where v & (8 >> b) != 0 { ids.insert(4 * k + b) }
        }
        return ids
    }

    public func reservedForHost(_ q: APQNName) -> Bool { apmask.contains(q.card) && aqmask.contains(q.domain) }

    /// Every broken invariant, as readable lines (empty when all hold).
    public var violations: [String] {
        var out: [String] = []
        var owner: [APQNName: String] = [:]
        for (uuid, m) in mdevs.sorted(by: { $0.key < $1.key }) {
            for q in m.apqns {
                if let other = owner[q] { out.append("\(q) is in mdev \(other) and in mdev \(uuid)") }
                owner[q] = uuid
                if reservedForHost(q) { out.append("\(q) of mdev \(uuid) is reserved for the host drivers by apmask/aqmask") }
            }
            if !m.guestAdapters.isSubset(of: m.adapters) || !m.guestDomains.isSubset(of: m.domains) {
                out.append("guest_matrix of \(uuid) is not within its matrix")
            }
        }
        var bound = 0
        for (q, driver) in drivers.sorted(by: { $0.key < $1.key }) {
            guard let driver else { continue }
            bound += 1
            let parts = q.split(separator: ".")
            let name = APQNName(card: Int(parts[0], radix: 16) ?? -1, domain: Int(parts[1], radix: 16) ?? -1)
            let expected = reservedForHost(name) ? "cex4queue" : "vfio_ap"
            if driver != expected { out.append("\(q) is bound to \(driver), the masks give it to \(expected)") }
            if driver == "vfio_ap" {
                // status_show: in use = assigned to an mdev a guest holds and in its guest matrix.
                let uuid = owner[name]
                let inUse = uuid.map { u in
                    guests.values.contains(u) && mdevs[u]!.guestAdapters.contains(name.card) && mdevs[u]!.guestDomains.contains(name.domain)
                } ?? false
                let want = inUse ? "in use" : uuid != nil ? "assigned" : "unassigned"
                if status[q] != want { out.append("\(q) status is '\(status[q] ?? "-")', not '\(want)'") }
            }
        }
        if availableInstances != "\(65536 - mdevs.count)\n" {
            out.append("available_instances is \(availableInstances.debugDescription) with \(mdevs.count) mdevs")
        }
        let wantBindings = "\(bound)/\(drivers.count)" + (bound == drivers.count ? " (complete)" : "") + "\n"
        if bindings != wantBindings { out.append("bindings is \(bindings.debugDescription), the drivers say \(wantBindings.debugDescription)") }
        for (g, u) in guests.sorted(by: { $0.key < $1.key }) {
            if let u, mdevs[u] == nil { out.append("guest \(g) holds mdev \(u), which does not exist") }
        }
        let held = guests.values.compactMap { $0 }
        if Set(held).count != held.count { out.append("an mdev is held by two guests: \(held.sorted())") }
        return out
    }
}
