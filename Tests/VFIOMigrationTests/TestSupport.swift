import APCore
import TestSupport
import VFIOMigration
import XCTest

let sourceUUID = "62177883-f1bb-47f0-914d-32a22e3a8804"
let targetUUID = "11111111-2222-3333-4444-555555555555"

/// Known per-queue TAPQ GR2 values for the byte-exact stream tests.
let hw0504: UInt64 = 0xF280_0000_0EFF_0807   // APSC AP4KM AP4KC CCA APXA, native, CEX8
let hw05ab: UInt64 = 0xF280_0000_0EFF_0806
let hw0604: UInt64 = 0xEA80_0000_0DFF_0005   // APSC AP4KM AP4KC accel APXA, native, CEX7
let hw06ab: UInt64 = 0xEB40_0000_0DFF_0003   // ... + SLCF, stateless only, CEX7

/// A host with two CEX8 adapters (05 CCA, 06 accelerator) and usage domains
/// 04, 47, ab, every queue given to vfio_ap (apmask/aqmask zero), and one mdev
/// `uuid` with `adapters` x `domains` assigned.
func topologyYAML(uuid: String = sourceUUID, adapters: [Int], domains: [Int],
                  hwinfo: [String: UInt64] = [:], bindState: [String: Int] = [:],
                  secureExecution: Bool = false, migratable: Bool = true) -> String {
    var queues = ""
    for apqn in Set(hwinfo.keys).union(bindState.keys).sorted() {
        var fields = ["apqn: \(apqn)"]
        if let h = hwinfo[apqn] { fields.append("hwinfo: \"0x\(String(h, radix: 16))\"") }
        if let b = bindState[apqn] { fields.append("bind_state: \(b)") }
        queues += "  - {\(fields.joined(separator: ", "))}\n"
    }
    let features = migratable ? "[guest_matrix, hotplug, ap_config, migratable]" : "[guest_matrix, hotplug, ap_config]"
    return """
    name: mig
    machine:
      secure_execution_guest: \(secureExecution)
    vfio_ap:
      features: \(features)
    adapters:
      - {id: 0x05, type: CEX8, mode: cca}
      - {id: 0x06, type: CEX8, mode: accel}
    usage_domains: [0x04, 0x47, 0xab]
    control_domains: [0x04, 0x47, 0xab]
    ap_bus:
      apmask: "0x00"
      aqmask: "0x00"
    \(queues.isEmpty ? "" : "queues:\n" + queues)mdevs:
      - uuid: \(uuid)
        adapters: [\(adapters.map(String.init).joined(separator: ", "))]
        domains: [\(domains.map(String.init).joined(separator: ", "))]

    """
}

/// One host, its device table and one mdev opened by guest `g1`.
struct Rig {
    let host: S390Host
    let table: VFIODeviceTable
    let uuid: String

    init(_ yaml: String, uuid: String = sourceUUID, open: Bool = true) throws {
        host = try makeHost(yaml, file: "t")
        table = VFIODeviceTable(host: host)
        self.uuid = uuid
        try host.update { try $0.addGuest(Guest(name: "g1")) }
        if open { try table.open(uuid, guest: "g1") }
    }

    init(uuid: String = sourceUUID, adapters: [Int], domains: [Int], hwinfo: [String: UInt64] = [:],
         bindState: [String: Int] = [:], secureExecution: Bool = false, migratable: Bool = true, open: Bool = true) throws {
        try self.init(topologyYAML(uuid: uuid, adapters: adapters, domains: domains, hwinfo: hwinfo, bindState: bindState,
                                   secureExecution: secureExecution, migratable: migratable),
                      uuid: uuid, open: open)
    }

    var logLines: [String] { host.read { $0.log.entries.map(\.text) } }

    /// Kernel-log lines logged while `body` ran.
    func newLines(_ body: () throws -> Void) rethrows -> [String] {
        let before = logLines.count
        try body()
        return Array(logLines.dropFirst(before))
    }

    func hwinfo(_ q: APQN) -> HardwareInfo { host.read { $0.queues[q]!.hardwareInfo } }

    /// `vfio_ap_mdev <uuid>: <message>`.
    func line(_ message: String) -> String { "vfio_ap_mdev \(uuid): \(message)" }

    /// Reads the data file to EOF in `chunk`-sized reads.
    func readAll(chunk: Int = 4096) throws -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let b = try table.read(uuid, count: chunk)
            XCTAssertLessThanOrEqual(b.count, chunk)
            if b.isEmpty { return out }
            out += b
        }
    }

    /// RUNNING → STOP_COPY, the whole save stream, back to RUNNING.
    func saveStream() throws -> [UInt8] {
        XCTAssertTrue(try table.setState(uuid, .stopCopy))
        let bytes = try readAll()
        try table.setState(uuid, .running)
        return bytes
    }

    /// Writes `bytes` in chunks of the given sizes, cycling through them.
    func write(_ bytes: [UInt8], chunks: [Int]) throws {
        var pos = 0
        var k = 0
        while pos < bytes.count {
            let n = min(chunks[k % chunks.count], bytes.count - pos)
            XCTAssertEqual(try table.write(uuid, Array(bytes[pos..<pos + n])), n)
            pos += n
            k += 1
        }
    }
}

let q0504 = APQN(card: 5, domain: 4)
let q0547 = APQN(card: 5, domain: 0x47)
let q05ab = APQN(card: 5, domain: 0xab)
let q0604 = APQN(card: 6, domain: 4)
let q0647 = APQN(card: 6, domain: 0x47)
let q06ab = APQN(card: 6, domain: 0xab)
