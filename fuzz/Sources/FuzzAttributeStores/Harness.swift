import APCore
import Foundation
import FuzzSupport
import Sysfs
import VFIOMigration

// Random bytes written to every writable attribute of a host through the
// Sysfs tree (the path a FUSE write takes), interleaved with guests opening,
// pausing and closing mdevs and with migration-state changes. An input is a
// program:
//
//   byte 0              the host: the embedded default topology (everything
//                       host-owned) or demo/topologies/migration-source.yaml
//   then, repeated:
//   op < 0xF0, L, L×b   store() of the L bytes into writable attribute
//                       #(op mod count), attributes sorted by path
//   op >= 0xF0, a, x    a guest operation (op & 7) on mdev #(a >> 1) by
//                       guest g(a & 1); x is its argument
//
// After the program the model invariants must hold (ModelInvariants) and
// every attribute must show.

/// The booted hosts, once: each input starts from a copy of one's state.
let bootedHosts: [(name: String, state: HostState)] = {
    do {
        let hosts = [try HostBuilder.build(try DefaultTopology.load(), file: "(embedded) default.yaml"),
                     try makeHost("migration-source.yaml")]
        defer { hosts.forEach { $0.shutdown() } }
        return hosts.map { h in (h.name, h.read { $0 }) }
    } catch { fatalError("fuzz harness: shipped topology does not boot: \(error)") }
}()

func makeHost(_ file: String) throws -> S390Host {
    try HostBuilder.build(try TopologyDecoder(file: file).decode(Repository.topology(file)), file: file)
}

/// One host under test and the program's interpreter.
final class Rig {
    let host: S390Host
    let tree: SysfsTree
    let guests: GuestManager
    /// The writable attributes, walked again only after a change added or
    /// removed nodes (the tree's own change report says so).
    private var writable: [String]?
    private let namesChanged = Flag()
    private(set) var overridesUsed = false

    init(topology index: Int) {
        let booted = bootedHosts[index % bootedHosts.count]
        host = S390Host(name: booted.name, state: booted.state)
        tree = SysfsTree(host: host)
        guests = GuestManager(host: host)
        let flag = namesChanged
        tree.observeChanges { set in
            if !set.entriesChanged.isEmpty || !set.removed.isEmpty || !set.childrenMayHaveGone.isEmpty { flag.set() }
        }
    }

    var writablePaths: [String] {
        if namesChanged.take() { writable = nil }
        if let w = writable { return w }
        let w = TreeWalk.attributes(tree).filter(\.isWritable).map(\.path)
        writable = w
        return w
    }

    func store(_ path: String, _ data: [UInt8]) -> Bool {
        guard case .success = tree.store(path, data) else { return false }
        if path.hasSuffix("/driver_override") { overridesUsed = true }
        return true
    }

    func guestOperation(_ op: UInt8, _ a: UInt8, _ x: UInt8) {
        let uuids = host.read { $0.mdevs.map(\.uuid) }
        guard !uuids.isEmpty else { return }
        let uuid = uuids[Int(a >> 1) % uuids.count]
        let name = "g\(a & 1)"
        let devices = guests.devices
        switch op & 7 {
        case 0:
            var options = GuestManager.StartOptions()
            options.migration = MigrationSetting.allCases[Int(x) % MigrationSetting.allCases.count]
            options.paused = x & 0x80 != 0
            try? guests.start(name, mdevs: [uuid], options: options)
        case 1: try? guests.stop(name)
        case 2: try? guests.setPaused(name, true)
        case 3: try? guests.setPaused(name, false)
        case 4: _ = try? devices.setState(uuid, rawState: UInt32(x % 9))
        case 5: _ = try? devices.read(uuid, count: Int(x) + 1)
        case 6: devices.closeFile(uuid)
        default: try? devices.reset(uuid)
        }
    }

    func run(_ input: inout FuzzInput) {
        var ops = 0
        while !input.isAtEnd && ops < 64 {
            ops += 1
            let op = input.byte()
            if op < 0xF0 {
                let paths = writablePaths
                guard !paths.isEmpty else { return }
                let path = paths[Int(op) % paths.count]
                let length = Int(input.byte())
                _ = store(path, input.take(length))
            } else {
                let a = input.byte()
                guestOperation(op, a, input.byte())
            }
        }
    }

    func finish() {
        ModelInvariants.check(host.read { $0 }, overridesUsed: overridesUsed)
        TreeWalk.showAll(tree)
        host.shutdown()
    }
}

/// Set from the tree's change observer, read by the harness thread.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    func take() -> Bool { lock.lock(); defer { value = false; lock.unlock() }; return value }
}

/// A seed: a sequence of steps, turned into the byte program that does them.
enum Step {
    case store(String, String)
    case guest(UInt8, a: UInt8, x: UInt8)
}

func encode(topology: Int, _ steps: [Step]) -> [UInt8] {
    let rig = Rig(topology: topology)
    defer { rig.host.shutdown() }
    var out: [UInt8] = [UInt8(topology)]
    for step in steps {
        switch step {
        case .store(let path, let text):
            guard let k = rig.writablePaths.firstIndex(of: path), k < 0xF0 else {
                fatalError("fuzz seed: \(path) is not writable attribute #0..239 here")
            }
            let data = Array(text.utf8).prefix(255)
            out += [UInt8(k), UInt8(data.count)] + data
            _ = rig.store(path, Array(data))
        case .guest(let op, let a, let x):
            out += [0xF0 | op, a, x]
            rig.guestOperation(op, a, x)
        }
    }
    return out
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    guard SeedCorpus.directory != nil else { return 0 }
    let u = "62177883-f1bb-47f0-914d-32a22e3a8804", v = "11111111-2222-3333-4444-555555555555"
    let mdev = "/devices/vfio_ap/matrix/\(u)", other = "/devices/vfio_ap/matrix/\(v)"
    let create = "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create"
    // The vfio-ap.rst procedure on the default host, then a second mdev
    // trying to share, the masks taking queues back, a migration.
    SeedCorpus.write("procedure", encode(topology: 0, [
        .store("/bus/ap/apmask", "-5,-6\n"), .store("/bus/ap/aqmask", "-4,-0x47,-0xab,-0xff\n"),
        .store(create, u + "\n"), .store(mdev + "/assign_adapter", "5\n"), .store(mdev + "/assign_adapter", "6\n"),
        .store(mdev + "/assign_domain", "4\n"), .store(mdev + "/assign_domain", "0xab\n"),
        .store(mdev + "/assign_control_domain", "0xab\n"),
        .store(create, v + "\n"), .store(other + "/assign_adapter", "5\n"), .store(other + "/assign_domain", "4\n"),
        .store("/bus/ap/apmask", "+5\n"), .store(other + "/ap_config", "0x04,0x0800000000000000000000000000000000000000001,\n"),
        .guest(0, a: 0, x: 0), .guest(2, a: 0, x: 0), .guest(4, a: 0, x: 3), .guest(5, a: 0, x: 255),
        .guest(4, a: 0, x: 1), .guest(3, a: 0, x: 0), .store(mdev + "/unassign_adapter", "6\n"),
        .store("/bus/ap/drivers/vfio_ap/unbind", "05.0004\n"), .store("/bus/ap/drivers/vfio_ap/bind", "05.0004\n"),
        .store(mdev + "/remove", "1\n"),
    ]))
    SeedCorpus.write("migration-source", encode(topology: 1, [
        .guest(0, a: 0, x: 0), .guest(2, a: 0, x: 0), .guest(4, a: 0, x: 3), .guest(5, a: 0, x: 200),
        .guest(4, a: 0, x: 4), .store(mdev + "/ap_config", ",,\n"), .guest(1, a: 0, x: 0),
        .store("/bus/ap/aqmask", "+4\n"), .store("/devices/ap/card05/05.0004/driver_override", "vfio_ap\n"),
        .store("/bus/ap/config_time", "30\n"), .store("/bus/ap/poll_timeout", "250000\n"),
    ]))
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let rig = Rig(topology: Int(input.byte()))
    rig.run(&input)
    rig.finish()
    return 0
}
