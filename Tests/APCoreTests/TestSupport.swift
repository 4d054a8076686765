import APCore
import TestSupport

/// Two CEX8 adapters (05 CCA, 06 accelerator), usage domains 04 and 47,
/// control domains 04, 47, 80; masks all ones.
let smallTopology = """
name: small
adapters:
  - {id: 0x05, type: CEX8, mode: cca}
  - {id: 0x06, type: CEX8, mode: accel}
usage_domains: [0x04, 0x47]
control_domains: [0x04, 0x47, 0x80]
"""

let uuidA = "62177883-f1bb-47f0-914d-32a22e3a8804"
let uuidB = "11111111-2222-3333-4444-555555555555"
let uuidC = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

let q0504 = APQN(card: 5, domain: 4)
let q0547 = APQN(card: 5, domain: 0x47)
let q0604 = APQN(card: 6, domain: 4)
let q0647 = APQN(card: 6, domain: 0x47)

extension S390Host {
    var state: HostState { read { $0 } }
}
