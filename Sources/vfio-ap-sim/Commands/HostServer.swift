import APCore
import Events
import Foundation
import FuseServer
import StateStore
import Sysfs
import VFIOMigration

/// One running emulated host: its tree mounted over FUSE and its control socket.
final class HostServer {
    let host: S390Host
    let mount: FuseMount
    let control: ControlServer
    let guests: GuestManager
    /// The uevents the host sends, to the sinks attached to it.
    let events: EventHub
    let tree: SysfsTree
    /// With --state: what saves the host after each change, and the file's lock.
    private(set) var persister: StatePersister?
    private var stateLock: StateFileLock?

    /// `servedAt` is what the `info` request reports as the host's place:
    /// the directory users see, which may differ from the FUSE mount point.
    /// `resumed` is what a state file kept beside the host model.
    /// `autoUnmount`: fusermount3 unmounts the tree when this process dies,
    /// however it dies; exec, whose mounts go with its private namespace,
    /// does without that helper process.
    init(host: S390Host, mountpoint: String, runtimeDirectory: String, servedAt: String? = nil,
         cache: KernelCacheMode = .names, resumed: StateSnapshot? = nil, autoUnmount: Bool = true) {
        self.host = host
        guests = GuestManager(host: host)
        events = EventHub(host: host, seqnum: resumed?.ueventSeqnum ?? 0)
        tree = SysfsTree(host: host)
        if let resumed {
            tree.restoreOwnership(resumed.nodeAttributes.map { NodeOwnership(path: $0.path, mode: $0.mode, uid: $0.uid, gid: $0.gid) })
            guests.devices.restoreMigrationStates(resumed.migrationStates.compactMapValues { MigrationState(rawValue: $0) })
        }
        // sysfs is mounted noexec and nodev (kernfs_fill_super); FUSE adds nosuid, nodev.
        mount = FuseMount(fileSystem: tree, mountpoint: mountpoint,
                          options: FuseMount.Options(fsname: "vfio-ap-sim", subtype: "vfio-ap-sim",
                                                     // auto_unmount: fusermount3 unmounts when this
                                                     // process dies, however it dies (no dead mounts).
                                                     extraOptions: ["noexec"] + (autoUnmount ? ["auto_unmount"] : []),
                                                     kernelCache: cache.kernelCache, pageCache: cache.pageCache,
                                                     openLess: cache.openLess))
        mount.willStop = { [host] in host.shutdown() }
        // The name was checked when the host was booted (HostNameRule).
        control = ControlServer(path: "\(runtimeDirectory)/\(host.name).sock",
                                handler: ControlRequests.handler(for: guests, events: events,
                                                                 servedAt: servedAt ?? mountpoint, tree: mountpoint))
    }

    convenience init(_ start: HostStart, mountpoint: String, runtimeDirectory: String, servedAt: String? = nil,
                     cache: KernelCacheMode = .names, autoUnmount: Bool = true) {
        self.init(host: start.host, mountpoint: mountpoint, runtimeDirectory: runtimeDirectory, servedAt: servedAt,
                  cache: cache, resumed: start.persistence?.resumed, autoUnmount: autoUnmount)
    }

    /// From now on every change (and chmod/chown) is in the state file
    /// before the request that made it returns. The first save happens
    /// here: a host whose state cannot be saved does not start.
    func persist(_ p: HostStart.Persistence) throws {
        let persister = StatePersister(file: p.file, hostName: host.name, topology: p.topology, generation: p.generation,
                                       report: { message in
                                           FileHandle.standardError.write(Data(("vfio-ap-sim: " + message + "\n").utf8))
                                       })
        let tree = self.tree, devices = guests.devices, events = self.events
        persister.nodeAttributes = {
            tree.ownershipOverrides.map { NodeAttributes(path: $0.path, mode: $0.mode, uid: $0.uid, gid: $0.gid) }
        }
        tree.ownershipChanged = { [weak persister] in persister?.nodeAttributesChanged() }
        // Asked with the host locked, after the event hub took the same change.
        try persister.attach(to: host) {
            SurroundingState(migrationStates: devices.migrationStatesWhileLocked().mapValues(\.rawValue),
                             ueventSeqnum: events.seqnum)
        }
        self.persister = persister
        stateLock = p.lock
    }

    /// The host has stopped: a save that failed is tried once more.
    func finish() { persister?.finish() }
}
