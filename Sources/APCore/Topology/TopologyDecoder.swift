import Yams

/// Reads a topology from YAML (JSON is YAML too). Every problem is reported
/// with the file, the field path and the offending value.
public struct TopologyDecoder {
    public let file: String

    public init(file: String) { self.file = file }

    private static let noConstruction = Constructor([:], [:], [:])

    public func decode(_ text: String) throws -> Topology {
        let root: Node
        do {
            // Every scalar is read as text and parsed here, so no tag is
            // resolved (Resolver.basic): the default resolver's regular
            // expressions ran for every key comparison, a quarter of the
            // boot of the 65,536-queue host. Nothing is constructed from
            // the nodes either (no `any`), so the constructor's tables stay
            // empty; and the encoding is named: Yams' default reads the
            // whole environment (YAMS_DEFAULT_ENCODING) into a dictionary.
            // Both defaults cost exec about 0.3 ms of its start.
            guard let node = try Yams.compose(yaml: text, .basic, Self.noConstruction, .utf8) else {
                throw fail("", "the file is empty")
            }
            root = node
        } catch let e as TopologyError {
            throw e
        } catch {
            throw fail("", "not valid YAML or JSON: \(error)")
        }
        guard let top = root.mapping else { throw fail("", "expected a mapping at the top level") }
        try checkKeys(top, "", allowed: ["name", "machine", "vfio_ap", "adapters", "usage_domains",
                                          "control_domains", "queues", "ap_bus", "mdevs"])
        var t = Topology(name: try top["name"].map { try string($0, "name") } ?? "s390")
        // The name is the base of generated host names (NAME-xxxxxx), which
        // name files: never a path.
        guard HostNameRule.isValid(t.name, maximumLength: HostNameRule.maximumTopologyNameLength) else {
            throw fail("name", "'\(t.name)' is not a valid host name: it is \(HostNameRule.describe(maximumLength: HostNameRule.maximumTopologyNameLength))")
        }
        if let m = top["machine"] { try decodeMachine(m, into: &t) }
        if let v = top["vfio_ap"] {
            guard let map = v.mapping else { throw fail("vfio_ap", "expected a mapping") }
            try checkKeys(map, "vfio_ap", allowed: ["features"])
            if let f = map["features"] { t.vfioFeatures = try strings(f, "vfio_ap.features") }
        }
        t.usageDomains = try top["usage_domains"].map { try ids(of: $0, "usage_domains", max: 255, unique: "domain") } ?? []
        t.controlDomains = try top["control_domains"].map { try ids(of: $0, "control_domains", max: 255, unique: "domain") } ?? t.usageDomains
        let maxDomain = t.machine.maxDomainID
        for (k, d) in t.usageDomains.enumerated() where d > maxDomain {
            throw fail("usage_domains[\(k)]", "domain \(hexName(d)) is above ap_max_domain_id \(maxDomain)")
        }
        for (k, d) in t.controlDomains.enumerated() where d > maxDomain {
            throw fail("control_domains[\(k)]", "domain \(hexName(d)) is above ap_max_domain_id \(maxDomain)")
        }
        if let a = top["adapters"] {
            guard let seq = a.sequence else { throw fail("adapters", "expected a list") }
            for (k, node) in seq.enumerated() {
                let spec = try decodeAdapter(node, "adapters[\(k)]", machine: t.machine)
                if t.adapters.contains(where: { $0.id == spec.id }) {
                    throw fail("adapters[\(k)].id", "adapter \(hexName(spec.id)) is listed twice")
                }
                t.adapters.append(spec)
            }
        }
        if let q = top["queues"] {
            guard let seq = q.sequence else { throw fail("queues", "expected a list") }
            for (k, node) in seq.enumerated() {
                let spec = try decodeQueue(node, "queues[\(k)]")
                guard t.adapters.contains(where: { $0.id == spec.apqn.card }), t.usageDomains.contains(spec.apqn.domain) else {
                    throw fail("queues[\(k)].apqn", "no queue \(spec.apqn): its adapter or usage domain is not in the topology")
                }
                t.queueOverrides.append(spec)
            }
        }
        if let b = top["ap_bus"] { try decodeBus(b, into: &t) }
        if let m = top["mdevs"] {
            guard let seq = m.sequence else { throw fail("mdevs", "expected a list") }
            for (k, node) in seq.enumerated() { t.mdevs.append(try decodeMdev(node, "mdevs[\(k)]")) }
        }
        return t
    }

    // MARK: - Sections

    private func decodeMachine(_ node: Node, into t: inout Topology) throws {
        guard let map = node.mapping else { throw fail("machine", "expected a mapping") }
        try checkKeys(map, "machine", allowed: ["qci", "facilities", "ap_max_adapter_id", "ap_max_domain_id",
                                                "secure_execution_guest", "interrupts"])
        var m = Machine()
        if let q = map["qci"] { m.qciAvailable = try bool(q, "machine.qci") }
        if let f = map["facilities"] {
            let names = try strings(f, "machine.facilities")
            let known = ["APSC", "APXA", "QACT", "RC8A", "APSB"]
            for (k, n) in names.enumerated() where !known.contains(n.uppercased()) {
                throw fail("machine.facilities[\(k)]", "unknown QCI facility '\(n)' (expected one of \(known.joined(separator: ", ")))")
            }
            let set = Set(names.map { $0.uppercased() })
            m.apsc = set.contains("APSC")
            m.apxa = set.contains("APXA")
            m.qact = set.contains("QACT")
            m.rc8a = set.contains("RC8A")
            m.apsb = set.contains("APSB")
        }
        if let a = map["ap_max_adapter_id"] { m.maxAdapterIDField = try integer(a, "machine.ap_max_adapter_id", range: 0...255) }
        if let d = map["ap_max_domain_id"] { m.maxDomainIDField = try integer(d, "machine.ap_max_domain_id", range: 0...255) }
        if let s = map["secure_execution_guest"] { m.secureExecutionGuest = try bool(s, "machine.secure_execution_guest") }
        if let i = map["interrupts"] { m.interrupts = try bool(i, "machine.interrupts") }
        t.machine = m
    }

    private func decodeAdapter(_ node: Node, _ path: String, machine: Machine) throws -> Topology.AdapterSpec {
        guard let map = node.mapping else { throw fail(path, "expected a mapping") }
        try checkKeys(map, path, allowed: ["id", "type", "raw_type", "mode", "facilities", "classification",
                                           "depth", "max_msg_size", "hwinfo", "configured", "checkstopped",
                                           "in_configuration", "serial_number", "api_ordinal", "fw_version", "op_modes", "master_keys",
                                           "online"])
        guard let idNode = map["id"] else { throw fail(path, "missing 'id'") }
        let id = try integer(idNode, "\(path).id", range: 0...255)
        if id > machine.maxAdapterID {
            throw fail("\(path).id", "adapter \(hexName(id)) is above ap_max_adapter_id \(machine.maxAdapterID)")
        }
        var hw = HardwareInfo(value: 0)
        if let raw = map["hwinfo"] {
            hw = HardwareInfo(value: try unsigned64(raw, "\(path).hwinfo"))
        } else {
            if let t = map["type"] {
                let name = try string(t, "\(path).type").uppercased()
                guard let v = APDeviceType.names[name] else {
                    throw fail("\(path).type", "unknown AP type '\(name)' (expected CEX4, CEX5, CEX6, CEX7 or CEX8, or raw_type)")
                }
                hw.apType = v
            } else if let r = map["raw_type"] {
                hw.apType = try integer(r, "\(path).raw_type", range: 0...255)
            } else {
                throw fail(path, "missing 'type' (or 'raw_type' or 'hwinfo')")
            }
            let modeName = try map["mode"].map { try string($0, "\(path).mode") } ?? "cca"
            guard let mode = APMode(rawValue: modeName == "accelerator" ? "accel" : modeName) else {
                throw fail("\(path).mode", "unknown mode '\(modeName)' (expected cca, accel or ep11)")
            }
            hw.cca = mode == .cca
            hw.accel = mode == .accelerator
            hw.ep11 = mode == .ep11
            let facilities = try map["facilities"].map { try strings($0, "\(path).facilities") }
                ?? ["APSC", "AP4KM", "AP4KC", "APXA"]
            for (k, f) in facilities.enumerated() {
                switch f.uppercased() {
                case "APSC": hw.apsc = true
                case "AP4KM", "MEX4K": hw.mex4k = true
                case "AP4KC", "CRT4K": hw.crt4k = true
                case "APXA": hw.apxa = true
                case "SLCF": hw.slcf = true
                default:
                    throw fail("\(path).facilities[\(k)]", "unknown facility '\(f)' (expected APSC, AP4KM, AP4KC, APXA or SLCF)")
                }
            }
            if let c = map["classification"] {
                switch try string(c, "\(path).classification") {
                case "native": hw.classification = HardwareInfo.classNative
                case "stateless": hw.classification = HardwareInfo.classStatelessOnly
                case let other:
                    if let v = parseInteger(other), (0...255).contains(v) { hw.classification = v } else {
                        throw fail("\(path).classification", "unknown classification '\(other)' (expected native, stateless or a byte)")
                    }
                }
            } else {
                hw.classification = HardwareInfo.classNative
            }
            hw.queueDepth = try map["depth"].map { try integer($0, "\(path).depth", range: 0...15) } ?? 7
            if let ml = map["max_msg_size"] {
                let bytes = try integer(ml, "\(path).max_msg_size", range: 0...(15 * 4096))
                guard bytes % 4096 == 0 else {
                    throw fail("\(path).max_msg_size", "\(bytes) is not a multiple of 4096")
                }
                hw.messageLengthUnits = bytes / 4096
            }
            hw.domainCount = machine.maxDomainID
        }
        var spec = Topology.AdapterSpec(id: id, hardwareInfo: hw)
        if let c = map["configured"] { spec.configured = try bool(c, "\(path).configured") }
        if let c = map["checkstopped"] { spec.checkstopped = try bool(c, "\(path).checkstopped") }
        if let c = map["in_configuration"] { spec.inConfiguration = try bool(c, "\(path).in_configuration") }
        if let o = map["online"] { spec.online = try bool(o, "\(path).online") }
        if let s = map["serial_number"] { spec.serialNumber = try string(s, "\(path).serial_number") }
        if let a = map["api_ordinal"] { spec.ep11APIOrdinal = try integer(a, "\(path).api_ordinal", range: 0...Int(UInt32.max)) }
        if let f = map["fw_version"] {
            let text = try string(f, "\(path).fw_version")
            let parts = text.split(separator: ".")
            guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]), (0...255).contains(major), (0...255).contains(minor) else {
                throw fail("\(path).fw_version", "expected MAJOR.MINOR, got '\(text)'")
            }
            spec.ep11FirmwareMajor = major
            spec.ep11FirmwareMinor = minor
        }
        if let o = map["op_modes"] {
            spec.ep11OperationModes = try strings(o, "\(path).op_modes")
            for (k, mode) in spec.ep11OperationModes.enumerated() where !EP11OperationModes.names.contains(mode) {
                throw fail("\(path).op_modes[\(k)]", "unknown operation mode '\(mode)' (expected one of \(EP11OperationModes.names.joined(separator: " ")))")
            }
        }
        if let k = map["master_keys"] { spec.masterKeys = try decodeMasterKeys(k, "\(path).master_keys") }
        return spec
    }

    private func decodeQueue(_ node: Node, _ path: String) throws -> Topology.QueueSpec {
        guard let map = node.mapping else { throw fail(path, "expected a mapping") }
        try checkKeys(map, path, allowed: ["apqn", "hwinfo", "bind_state", "configured", "checkstopped",
                                           "driver_override", "master_keys", "online", "dev_state", "reset_pending",
                                           "association_index"])
        guard let a = map["apqn"] else { throw fail(path, "missing 'apqn'") }
        let text = try string(a, "\(path).apqn")
        guard let apqn = parseAPQN(text) else {
            throw fail("\(path).apqn", "expected an APQN like 05.0047, got '\(text)'")
        }
        var spec = Topology.QueueSpec(apqn: apqn)
        if let h = map["hwinfo"] { spec.hardwareInfo = HardwareInfo(value: try unsigned64(h, "\(path).hwinfo")) }
        if let b = map["bind_state"] { spec.bindState = try integer(b, "\(path).bind_state", range: 0...3) }
        if let c = map["configured"] { spec.configured = try bool(c, "\(path).configured") }
        if let c = map["checkstopped"] { spec.checkstopped = try bool(c, "\(path).checkstopped") }
        if let d = map["driver_override"] { spec.driverOverride = try string(d, "\(path).driver_override") }
        if let k = map["master_keys"] { spec.masterKeys = try decodeMasterKeys(k, "\(path).master_keys") }
        if let o = map["online"] { spec.online = try bool(o, "\(path).online") }
        if let d = map["dev_state"] {
            // ap_queue.c's dev_state: what `request_count` shows (a number or `-`).
            switch try string(d, "\(path).dev_state") {
            case "operating": spec.initialized = true
            case "uninitiated": spec.initialized = false
            case let other: throw fail("\(path).dev_state", "unknown device state '\(other)' (expected operating or uninitiated)")
            }
        }
        if let r = map["reset_pending"] { spec.resetPending = try bool(r, "\(path).reset_pending") }
        // se_associate_store: below ASSOC_IDX_INVALID (0x10000).
        if let a = map["association_index"] { spec.associationIndex = try integer(a, "\(path).association_index", range: 0...0xFFFF) }
        return spec
    }

    private func decodeMasterKeys(_ node: Node, _ path: String) throws -> MasterKeyState {
        guard let map = node.mapping else { throw fail(path, "expected a mapping") }
        var registers: [String: MasterKeyState.Register] = [:]
        for (keyNode, value) in map {
            let key = keyNode.string ?? ""
            let parts = key.uppercased().split(separator: " ").map(String.init)
            guard parts.count == 2, MasterKeyState.keyTypes.contains(parts[0]),
                  (parts[0] == "WK" ? ["NEW", "CUR"] : ["NEW", "CUR", "OLD"]).contains(parts[1]) else {
                throw fail("\(path).\(key)", "expected a register like 'AES CUR' (AES, APKA, ASYM with NEW, CUR, OLD; WK with NEW, CUR)")
            }
            let text = try string(value, "\(path).\(key)")
            let words = text.split(separator: " ").map(String.init)
            let states = MasterKeyState.states(forKey: parts[0], register: parts[1])
            let width = parts[0] == "ASYM" ? 16 : (parts[0] == "WK" ? 32 : 8)
            guard (1...2).contains(words.count), states.contains(words[0]) else {
                throw fail("\(path).\(key)", "expected '<state> 0x<hex>' with state one of \(states.joined(separator: ", ")), got '\(text)'")
            }
            var pattern: [UInt8] = []
            if words.count == 2 {
                guard words[1].hasPrefix("0x"), let bytes = hexBytes(String(words[1].dropFirst(2))), bytes.count == width else {
                    throw fail("\(path).\(key)", "expected a verification pattern of 0x and \(width * 2) hex digits, got '\(words[1])'")
                }
                pattern = bytes
            } else if parts[0] != "WK" {
                pattern = Array(repeating: 0, count: width)
            }
            registers[parts.joined(separator: " ")] = MasterKeyState.Register(state: words[0], verificationPattern: pattern)
        }
        return MasterKeyState(registers: registers)
    }

    private func decodeBus(_ node: Node, into t: inout Topology) throws {
        guard let map = node.mapping else { throw fail("ap_bus", "expected a mapping") }
        try checkKeys(map, "ap_bus", allowed: ["apmask", "aqmask", "ap_domain", "config_time", "poll_timeout", "poll_thread",
                                              "bindings_complete_count"])
        if let a = map["apmask"] { t.apmask = try mask(a, "ap_bus.apmask") }
        if let q = map["aqmask"] { t.aqmask = try mask(q, "ap_bus.aqmask") }
        // -1: no default domain, as `ap_domain` reads on a host that found none.
        if let d = map["ap_domain"] { t.defaultDomain = try integer(d, "ap_bus.ap_domain", range: -1...255) }
        // config_time_store: 5-120 s; poll_timeout_store: at most 120 s in ns.
        if let c = map["config_time"] { t.configTime = try integer(c, "ap_bus.config_time", range: 5...120) }
        if let p = map["poll_timeout"] {
            t.pollTimeout = UInt64(try integer(p, "ap_bus.poll_timeout", range: 0...120_000_000_000))
        }
        if let p = map["poll_thread"] { t.pollThread = try bool(p, "ap_bus.poll_thread") }
        // ap_bindings_complete_count: how often the bindings became complete
        // since boot (ap_check_bindings_complete); a recording keeps it.
        if let c = map["bindings_complete_count"] {
            t.bindingsCompleteCount = UInt64(try integer(c, "ap_bus.bindings_complete_count", range: 0...Int.max))
        }
    }

    private func decodeMdev(_ node: Node, _ path: String) throws -> Topology.MdevSpec {
        guard let map = node.mapping else { throw fail(path, "expected a mapping") }
        try checkKeys(map, path, allowed: ["uuid", "adapters", "domains", "control_domains", "iommu_group", "vfio_device"])
        guard let u = map["uuid"] else { throw fail(path, "missing 'uuid'") }
        let uuid = try string(u, "\(path).uuid")
        guard isUUID(uuid) else { throw fail("\(path).uuid", "not a UUID: '\(uuid)'") }
        var spec = Topology.MdevSpec(uuid: uuid.lowercased())
        spec.adapters = try map["adapters"].map { try ids(of: $0, "\(path).adapters", max: 255) } ?? []
        spec.domains = try map["domains"].map { try ids(of: $0, "\(path).domains", max: 255) } ?? []
        spec.controlDomains = try map["control_domains"].map { try ids(of: $0, "\(path).control_domains", max: 255) } ?? []
        // iommu_group_ida and vfio.device_ida hand out non-negative ints.
        if let g = map["iommu_group"] { spec.iommuGroup = try integer(g, "\(path).iommu_group", range: 0...Int(Int32.max)) }
        if let v = map["vfio_device"] { spec.vfioDeviceIndex = try integer(v, "\(path).vfio_device", range: 0...Int(Int32.max)) }
        return spec
    }

    // MARK: - Scalars

    func fail(_ field: String, _ message: String) -> TopologyError {
        TopologyError(file: file, field: field, message: message)
    }

    private func checkKeys(_ map: Node.Mapping, _ path: String, allowed: [String]) throws {
        for (k, _) in map {
            let key = k.string ?? "?"
            if !allowed.contains(key) {
                throw fail(path.isEmpty ? key : "\(path).\(key)", "unknown field (expected one of \(allowed.joined(separator: ", ")))")
            }
        }
    }

    /// `path` is only built for an error message (20,000 mdevs have 100,000 values).
    private func string(_ node: Node, _ path: @autoclosure () -> String) throws -> String {
        guard let s = node.scalar?.string else { throw fail(path(), "expected a single value") }
        return s
    }

    private func strings(_ node: Node, _ path: String) throws -> [String] {
        guard let seq = node.sequence else { throw fail(path, "expected a list") }
        return try seq.enumerated().map { try string($0.element, "\(path)[\($0.offset)]") }
    }

    private func bool(_ node: Node, _ path: String) throws -> Bool {
        let s = try string(node, path)
        switch s.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw fail(path, "expected true or false, got '\(s)'")
        }
    }

    private func integer(_ node: Node, _ path: @autoclosure () -> String, range: ClosedRange<Int>) throws -> Int {
        let s = try string(node, path())
        guard let v = parseInteger(s) else { throw fail(path(), "expected a number, got '\(s)'") }
        guard range.contains(v) else { throw fail(path(), "\(s) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    private func unsigned64(_ node: Node, _ path: String) throws -> UInt64 {
        let s = try string(node, path)
        let v: UInt64?
        if s.hasPrefix("0x") || s.hasPrefix("0X") { v = UInt64(s.dropFirst(2), radix: 16) } else { v = UInt64(s) }
        guard let value = v else { throw fail(path, "expected a 64-bit number like 0xf2800000..., got '\(s)'") }
        return value
    }

    /// A list of ids and `a-b` ranges, sorted. With `unique` (what an id
    /// is, for the message) an id listed twice, in any spelling or through
    /// a range, is refused as duplicate adapters are.
    private func ids(of node: Node, _ path: String, max: Int, unique: String? = nil) throws -> [Int] {
        guard let seq = node.sequence else { throw fail(path, "expected a list") }
        var result = Set<Int>()
        for (k, n) in seq.enumerated() {
            let text = try string(n, "\(path)[\(k)]")
            let item: [Int]
            if let r = parseRange(text) {
                guard r.lowerBound >= 0, r.upperBound <= max else { throw fail("\(path)[\(k)]", "\(text) is out of range 0...\(max)") }
                item = Array(r)
            } else {
                item = [try integer(n, "\(path)[\(k)]", range: 0...max)]
            }
            for id in item where !result.insert(id).inserted {
                if let unique { throw fail("\(path)[\(k)]", "\(unique) \(hexName(id)) is listed twice") }
            }
        }
        return result.sorted()
    }

    private func mask(_ node: Node, _ path: String) throws -> APMask {
        let s = try string(node, path)
        var body = Substring(s)
        if body.hasPrefix("0x") { body = body.dropFirst(2) }
        guard body.count <= 64, let m = APMask(hexDigits: body) else {
            throw fail(path, "expected 0x and up to 64 hex digits, got '\(s)'")
        }
        return m
    }

    private func hexName(_ v: Int) -> String { "0x" + KernelFormat.hex(v, width: 2) }
}

/// Number syntax of topology files: decimal, 0x hex, 0o octal.
func parseInteger(_ s: String) -> Int? {
    // Letters and digits only (every number but a padded one): nothing to trim.
    let plain = !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) }
    let t = plain ? s : s.trimmingCharacters(in: .whitespaces)
    if t.hasPrefix("0x") || t.hasPrefix("0X") { return Int(t.dropFirst(2), radix: 16) }
    if t.hasPrefix("0o") { return Int(t.dropFirst(2), radix: 8) }
    return Int(t)
}

/// `A-B` ranges in ID lists (`0x00-0x0f`).
func parseRange(_ s: String) -> ClosedRange<Int>? {
    let parts = s.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 2, let a = parseInteger(String(parts[0])), let b = parseInteger(String(parts[1])), a <= b else { return nil }
    return a...b
}

func parseAPQN(_ s: String) -> APQN? {
    let parts = s.split(separator: ".")
    guard parts.count == 2, let c = Int(parts[0], radix: 16), let d = Int(parts[1], radix: 16),
          (0..<256).contains(c), (0..<256).contains(d) else { return nil }
    return APQN(card: c, domain: d)
}

func isUUID(_ s: String) -> Bool {
    let chars = Array(s)
    guard chars.count == 36 else { return false }
    for (i, c) in chars.enumerated() {
        if [8, 13, 18, 23].contains(i) { if c != "-" { return false } } else if !c.isHexDigit { return false }
    }
    return true
}

func hexBytes(_ s: String) -> [UInt8]? {
    guard s.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        guard let b = UInt8(s[i..<j], radix: 16) else { return nil }
        bytes.append(b)
        i = j
    }
    return bytes
}

extension APMask {
    /// Up to 64 hex digits, left-aligned: digit k covers IDs 4k...4k+3
    /// (the layout `ap_hex2bitmap` reads).
    public init?<S: StringProtocol>(hexDigits: S) {
        self.init()
        guard hexDigits.count <= 64 else { return nil }
        for (k, c) in hexDigits.enumerated() {
            guard let v = c.hexDigitValue else { return nil }
            for b in 0..<4 where v & (8 >> b) != 0 { insert(4 * k + b) }
        }
    }
}
