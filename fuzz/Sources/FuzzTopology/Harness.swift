import APCore
import Foundation
import FuzzSupport
import Sysfs
import Yams

// Random text to the topology decoder (YAML, and JSON, which is YAML too).
// A topology that decodes must boot (or be refused with a TopologyError),
// and a host that boots must satisfy the model invariants and show every
// attribute. Seeds: every shipped topology, as YAML and as JSON.

/// Hosts larger than this are decoded but not booted: booting is linear in
/// the queues, and a 256 × 256 host would only make the run slow.
let maximumQueuesBooted = 1024

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    guard SeedCorpus.directory != nil else { return 0 }
    var texts = [("default.yaml", DefaultTopology.text)]
    for name in Repository.topologyNames { texts.append((name, Repository.topology(name))) }
    for (name, text) in texts {
        SeedCorpus.write(name, Array(text.utf8))
        if let value = try? Yams.load(yaml: text), JSONSerialization.isValidJSONObject(value),
           let json = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
            SeedCorpus.write(name + ".json", [UInt8](json))
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let text = String(decoding: FuzzInput(start, count).bytes, as: UTF8.self)
    let topology: Topology
    do {
        topology = try TopologyDecoder(file: "fuzz.yaml").decode(text)
    } catch is TopologyError {
        return 0
    } catch {
        violation("the decoder threw \(type(of: error)), not a TopologyError: \(error)")
    }
    guard topology.adapters.count * max(1, topology.usageDomains.count) <= maximumQueuesBooted else { return 0 }
    let host: S390Host
    do {
        host = try HostBuilder.build(topology, file: "fuzz.yaml")
    } catch is TopologyError {
        return 0
    } catch {
        violation("booting threw \(type(of: error)), not a TopologyError: \(error)")
    }
    let state = host.read { $0 }
    ModelInvariants.check(state, overridesUsed: state.driverOverrideCount > 0)
    TreeWalk.showAll(SysfsTree(host: host))
    host.shutdown()
    return 0
}
