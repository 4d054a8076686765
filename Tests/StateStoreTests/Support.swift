import APCore
import Foundation
@testable import StateStore
import TestSupport

/// Two CEX8 adapters (05 CCA, 06 accelerator) and an EP11 one (07),
/// usage domains 04 and 47, control domains 04, 47, 80.
let topologyYAML = """
name: persisted
adapters:
  - {id: 0x05, type: CEX8, mode: cca, serial_number: "93AADFK7"}
  - {id: 0x06, type: CEX8, mode: accel}
  - {id: 0x07, type: CEX8, mode: ep11, serial_number: "EP11SER1", api_ordinal: 4, fw_version: "7.21", op_modes: [FIPS2021]}
usage_domains: [0x04, 0x47]
control_domains: [0x04, 0x47, 0x80]
"""

let uuidA = "62177883-f1bb-47f0-914d-32a22e3a8804"
let uuidB = "11111111-2222-3333-4444-555555555555"
let q0504 = APQN(card: 5, domain: 4)
let q0547 = APQN(card: 5, domain: 0x47)
let q0604 = APQN(card: 6, domain: 4)

func makeTestHost() throws -> S390Host { try makeHost(topologyYAML) }

/// The persisted properties (`HostState.persistedProperties`) in which two
/// states differ, compared by value (every one of them is Equatable; one
/// that is not is reported as differing, so that this cannot pass blindly).
func differences(_ a: HostState, _ b: HostState) -> [String] {
    let left = Dictionary(uniqueKeysWithValues: Mirror(reflecting: a).children.compactMap { c in c.label.map { ($0, c.value) } })
    let right = Dictionary(uniqueKeysWithValues: Mirror(reflecting: b).children.compactMap { c in c.label.map { ($0, c.value) } })
    return HostState.persistedProperties.filter { name in
        guard let x = left[name], let y = right[name], let e = x as? any Equatable else { return true }
        return !e.isEqual(to: y)
    }
}

extension Equatable {
    func isEqual(to other: Any) -> Bool { (other as? Self) == self }
}

/// Changes touching every part of the state, each as a user (or the
/// kernel) would make it.
let operations: [(name: String, change: (inout HostState) throws -> Void)] = [
    ("apmask", { try $0.setAPMask(.allBut(5)) }),
    ("aqmask", { try $0.setAQMask(.allBut(4)) }),
    ("create A", { try $0.createMdev(uuid: uuidA) }),
    ("assign adapter", { try $0.assign(.adapter, id: 5, to: uuidA) }),
    ("assign domain", { try $0.assign(.domain, id: 4, to: uuidA) }),
    ("assign control domain", { try $0.assign(.controlDomain, id: 0x80, to: uuidA) }),
    ("refused assign logs", { _ = try? $0.assign(.adapter, id: 0x99, to: uuidA) }),
    ("create B", { try $0.createMdev(uuid: uuidB) }),
    ("config_time", { try $0.setConfigTime(45) }),
    ("poll_thread", { $0.setPollThread(true) }),
    ("card config off", { try $0.setCardConfigured(6, false) }),
    ("queue online off", { try $0.setQueueOnline(q0547, false) }),
    ("hwinfo", { try $0.setQueueHardwareInfo(q0504, $0.queues[q0504]!.hardwareInfo.value ^ 0x0000_0000_0000_0100) }),
    ("queue reset", { $0.requestQueueReset(q0547) }),
    ("guest", { try $0.addGuest(Guest(name: "g1", migration: .on)) }),
    ("open", { try $0.openMdev(uuidA, guest: "g1") }),
    ("qemu log", { $0.appendGuestLog("g1", "qemu-system-s390x: hello") }),
    ("pause", { $0.setGuestPaused("g1", true) }),
    ("autoprobe", { $0.setDriversAutoprobe(bus: "ap", false) }),
    ("rescan", { $0.rescanBus() }),
    ("close", { $0.closeMdev(uuidA) }),
    ("remove B", { try $0.removeMdev(uuid: uuidB) }),
    ("unassign adapter", { try $0.unassign(.adapter, id: 5, from: uuidA) }),
    ("unassign domain", { try $0.unassign(.domain, id: 4, from: uuidA) }),
    ("apmask back", { try $0.setAPMask(.allOnes) }),
    ("aqmask back", { try $0.setAQMask(.allOnes) }),
    ("driver_override", { try $0.setDriverOverride(q0604, "vfio_ap") }),
    ("hw: domain leaves", { try $0.applyHardwareChange(.removeDomain(0x47)) }),
    ("hw: card deconfigured, no scan yet", { try $0.applyHardwareChange(.deconfigureCard(7), scan: false) }),
    ("hw: checkstop", { try $0.applyHardwareChange(.checkstopCard(5)) }),
    ("hw: domain back", { try $0.applyHardwareChange(.addDomain(0x47)) }),
    ("hw: adapter leaves", { try $0.applyHardwareChange(.removeAdapter(6)) }),
    ("kernel log line", { $0.log(.warning, "a line with \"quotes\", a \\ and é") }),
]
