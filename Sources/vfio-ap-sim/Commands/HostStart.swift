import APCore
import ArgumentParser
import Foundation
import Glibc
import StateStore

/// `--state FILE` of mount and exec.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Keep the host's whole state in FILE: saved after every change, before the write() returns; a host started again with the same FILE resumes where it was (its topology is then FILE's; a --topology must be the same one). A FILE that is damaged, truncated, not a state file or of a newer version is refused and left as it is. See docs/RELIABILITY.md.", valueName: "file"))
    var state: String?
}

/// How a host starts: booted from its topology, or resumed from its state file.
struct HostStart {
    let host: S390Host
    /// With --state: the file, held locked, and what it held (nil when it is new).
    let persistence: Persistence?

    struct Persistence {
        let file: StateFile
        let lock: StateFileLock
        let topology: TopologyIdentity
        let generation: UInt64
        let resumed: StateSnapshot?
    }

    /// Boots or resumes the host. `defaultName` names a booted host given
    /// no --name; a resumed one keeps the name its file has. `loaded` is
    /// the topology the caller already read, booted without --state.
    static func prepare(_ topologyOptions: TopologyOptions, loaded: Topology? = nil, name: String?, state: String?,
                        defaultName: (Topology) -> String) throws -> HostStart {
        guard let state else {
            let t = try loaded ?? topologyOptions.load()
            return HostStart(host: try topologyOptions.boot(t, name: name ?? defaultName(t)), persistence: nil)
        }
        let file = StateFile(path: state)
        let lock = try StateFileLock(file)
        // What a save cut short left (the file itself is whole either way).
        unlink(file.temporaryPath)
        if let (header, snapshot) = try checked(file, topologyOptions) {
            let hostName = name ?? header.host
            try ControlPaths.checkName(hostName, source: "the host name in \(file.path)")
            let host = S390Host(name: hostName, state: snapshot.host, uptime: snapshot.host.now)
            return HostStart(host: host, persistence: Persistence(file: file, lock: lock, topology: header.topology,
                                                                  generation: header.generation, resumed: snapshot))
        }
        let t = try topologyOptions.load()
        let host = try topologyOptions.boot(t, name: name ?? defaultName(t))
        return HostStart(host: host, persistence: Persistence(file: file, lock: lock, topology: try TopologyIdentity(t),
                                                              generation: 0, resumed: nil))
    }

    /// What `file` holds, refused when it is not a whole state file or
    /// belongs to another topology than a --topology given; nil when there
    /// is no file yet.
    static func checked(_ file: StateFile, _ topologyOptions: TopologyOptions) throws -> (StateFileHeader, StateSnapshot)? {
        guard let (header, snapshot) = try file.read() else { return nil }
        if topologyOptions.topology != nil {
            let given = try TopologyIdentity(try topologyOptions.load())
            guard given == header.topology else {
                throw StateFileError(file.path, .topologyMismatch(file: header.topology, given: given))
            }
        }
        return (header, snapshot)
    }
}
