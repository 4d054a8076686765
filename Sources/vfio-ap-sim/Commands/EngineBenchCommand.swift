import APCore
import ArgumentParser
import Events
import Foundation
import VFIOMigration

/// Engine figures of docs/PERFORMANCE.md that no mount shows on its own,
/// measured in this process (bench/run.sh calls it). Prints one line per
/// figure: its name and the median of the rounds in milliseconds.
struct EngineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__bench-engine", abstract: "(internal) engine timings for bench/run.sh.", shouldDisplay: false,
        subcommands: [Boot.self, Migration.self])

    /// Decoding a topology and booting a host from it.
    struct Boot: ParsableCommand {
        @Option(help: "Rounds; the median is printed.") var rounds = 5
        @Option(help: "The topology file.") var topology: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: topology) else { throw UserError("cannot read \(topology)") }
            let text = String(decoding: data, as: UTF8.self)
            var decode: [Double] = [], build: [Double] = [], remove: [Double] = []
            var mdevs = 0
            for _ in 0..<max(rounds, 1) {
                var t = Clock.now
                let topo = try TopologyDecoder(file: topology).decode(text)
                decode.append(t.elapsedMilliseconds)
                t = Clock.now
                let host = try HostBuilder.build(topo, file: topology)
                build.append(t.elapsedMilliseconds)
                mdevs = host.read { $0.mdevs.count }
                // `echo 1 > remove` of the mdev in the middle of the list.
                if let middle = host.read({ $0.mdevs.isEmpty ? nil : $0.mdevs[$0.mdevs.count / 2].uuid }) {
                    t = Clock.now
                    try host.removeMdev(uuid: middle)
                    remove.append(t.elapsedMilliseconds)
                }
            }
            print("decode \(Clock.median(decode))")
            print("build \(Clock.median(build))")
            print("mdevs \(mdevs)")
            if !remove.isEmpty { print("remove \(Clock.median(remove))") }
        }
    }

    /// Saving and resuming the guest matrix of one mdev that has every
    /// APQN of the topology: the source's STOP -> STOP_COPY and the reads
    /// of the stream; the target's STOP -> RESUMING and the 32 KiB writes
    /// whose last one validates every queue (`do_post_copy_validation`).
    /// With --control-socket through each host's control socket, as
    /// `migration save`/`resume` and `migrate` drive them.
    struct Migration: ParsableCommand {
        @Option(help: "Rounds; the median is printed.") var rounds = 5
        @Option(help: "The topology file (every queue is given to one mdev).") var topology: String
        @Flag(help: "Drive both hosts through their control sockets.") var controlSocket = false
        @Option(help: "Bytes per write() of the resume stream (QEMU's is 32 KiB).") var writeSize = 32 * 1024

        static let uuid = "62177883-f1bb-47f0-914d-32a22e3a8804"

        func run() throws {
            guard let data = FileManager.default.contents(atPath: topology) else { throw UserError("cannot read \(topology)") }
            let topo = try TopologyDecoder(file: topology).decode(String(decoding: data, as: UTF8.self))
            let sourceGuests = try Self.guestWithEveryQueue(topo)
            let targetGuests = try Self.guestWithEveryQueue(topo)
            try targetGuests.setPaused("g", true)
            var servers: [ControlServer] = []
            let dir = FileManager.default.temporaryDirectory.path + "/vfio-ap-sim-bench-\(getpid())"
            defer {
                for s in servers { s.stop() }
                if controlSocket { try? FileManager.default.removeItem(atPath: dir) }
            }
            func peer(_ guests: GuestManager, _ name: String) throws -> MigrationPeer {
                guard controlSocket else { return LocalPeer(guests) }
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let path = "\(dir)/\(name).sock"
                let server = ControlServer(path: path, handler: ControlRequests.handler(
                    for: guests, events: EventHub(host: guests.host), servedAt: dir, tree: dir))
                try server.start()
                servers.append(server)
                return RemotePeer(hostName: name, client: ControlClient(socket: path))
            }
            let source = try peer(sourceGuests, "source"), target = try peer(targetGuests, "target")
            var save: [Double] = [], resume: [Double] = []
            var bytes = 0
            for _ in 0..<max(rounds, 1) {
                try source.setState(Self.uuid, .stop)
                var t = Clock.now
                try source.setState(Self.uuid, .stopCopy)
                var stream: [UInt8] = []
                while true {
                    let chunk = try source.read(Self.uuid, count: 1 << 20)
                    if chunk.isEmpty { break }
                    stream += chunk
                }
                save.append(t.elapsedMilliseconds)
                try source.setState(Self.uuid, .stop)
                try source.closeFile(Self.uuid)
                try source.setState(Self.uuid, .running)
                bytes = stream.count

                t = Clock.now
                try target.setState(Self.uuid, .resuming)
                var offset = 0
                while offset < stream.count {
                    let end = min(stream.count, offset + writeSize)
                    offset += try target.write(Self.uuid, Array(stream[offset..<end]))
                }
                resume.append(t.elapsedMilliseconds)
                try target.setState(Self.uuid, .stop)
                try target.closeFile(Self.uuid)
            }
            print("save \(Clock.median(save))")
            print("resume \(Clock.median(resume))")
            print("bytes \(bytes)")
        }

        /// A host of the topology whose queues all belong to vfio_ap and to
        /// one mdev, opened by guest `g`.
        static func guestWithEveryQueue(_ topo: Topology) throws -> GuestManager {
            let host = try HostBuilder.build(topo, file: "bench")
            try host.update { s in
                try s.setAPMask(APMask())
                try s.setAQMask(APMask())
                try s.createMdev(uuid: uuid)
                let all = APMatrix(adapters: APMask(ids: s.adapters.keys), domains: s.hostConfig.domains)
                try s.setAPConfig(all, of: uuid)
            }
            let guests = GuestManager(host: host)
            try guests.start("g", mdevs: [uuid])
            return guests
        }
    }
}

/// Monotonic milliseconds for the engine figures.
private struct Clock {
    let start: UInt64

    static var now: Clock { Clock(start: DispatchTime.now().uptimeNanoseconds) }

    var elapsedMilliseconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }

    static func median(_ values: [Double]) -> String {
        let v = values.sorted()
        let m = v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
        return String(format: "%.2f", m)
    }
}
