import APCore
import FuzzSupport
import VFIOMigration

// Random bytes in random chunk sizes written to the data fd of a RESUMING
// vfio_ap device (what QEMU's vfio_load_state does with the incoming
// stream), then the arcs QEMU takes after the load (RESUMING -> STOP ->
// RUNNING) and the close. An input:
//
//   byte 0      bits 0-2: k, the number of chunk sizes; bit 3: destination
//               (migration-target.yaml or migration-source.yaml); bit 4:
//               keep writing after a refused write
//   k bytes     chunk sizes, used in turn (0 = everything left)
//   the rest    the stream
//
// Seeds: the real save stream of migration-source.yaml's guest (72 bytes)
// whole, in 1-byte, 3/7/16-byte and 8+64 chunks.

let uuid = "62177883-f1bb-47f0-914d-32a22e3a8804"

let destinations: [(file: String, topology: Topology)] = ["migration-target.yaml", "migration-source.yaml"].map { name in
    do { return (name, try TopologyDecoder(file: name).decode(Repository.topology(name))) } catch {
        fatalError("fuzz harness: \(name) does not decode: \(error)")
    }
}

/// A booted host with guest g1 holding the mdev, as QEMU's -incoming start leaves it.
func startGuest(_ t: (file: String, topology: Topology), paused: Bool) -> GuestManager {
    do {
        let guests = GuestManager(host: try HostBuilder.build(t.topology, file: t.file))
        var options = GuestManager.StartOptions()
        options.paused = paused
        try guests.start("g1", mdevs: [uuid], options: options)
        return guests
    } catch { fatalError("fuzz harness: \(t.file): \(error)") }
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    guard SeedCorpus.directory != nil else { return 0 }
    let source = startGuest(destinations[1], paused: false)
    var stream: [UInt8] = []
    do {
        try source.devices.setState(uuid, .stopCopy)
        while case let part = try source.devices.read(uuid, count: 4096), !part.isEmpty { stream += part }
    } catch { fatalError("fuzz harness: the source's save stream: \(error)") }
    source.host.shutdown()
    for (name, header) in [("whole", [UInt8(0)]), ("bytes", [1, 1]), ("mixed", [3, 3, 7, 16]), ("header", [2, 8, 64]),
                           ("source", [0x08]), ("keep-going", [0x11, 5])] {
        SeedCorpus.write(name, header + stream)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let flags = input.byte()
    let sizes = input.take(Int(flags & 7)).map(Int.init)
    let keepGoing = flags & 0x10 != 0
    let stream = input.rest()
    let guests = startGuest(destinations[Int(flags >> 3) & 1], paused: true)
    let devices = guests.devices
    defer { guests.host.shutdown() }
    do { try devices.setState(uuid, .resuming) } catch { violation("RUNNING -> RESUMING refused: \(error)") }
    var offset = 0, k = 0
    while offset < stream.count {
        let size = sizes.isEmpty || sizes[k % sizes.count] == 0 ? stream.count - offset : sizes[k % sizes.count]
        let end = min(stream.count, offset + size)
        k += 1
        do {
            let n = try devices.write(uuid, Array(stream[offset..<end]))
            if n != end - offset { violation("write of \(end - offset) bytes returned \(n)") }
        } catch {
            if !keepGoing { break }
        }
        offset = end
    }
    _ = try? devices.setState(uuid, .stop)
    _ = try? devices.setState(uuid, .running)
    devices.closeFile(uuid)
    ModelInvariants.check(guests.host.read { $0 }, overridesUsed: false)
    try? guests.stop("g1")
    return 0
}
