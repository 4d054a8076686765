import APCore
import Events
import Foundation
import FuseServer
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

    /// `servedAt` is what the `info` request reports as the host's place:
    /// the directory users see, which may differ from the FUSE mount point.
    init(host: S390Host, mountpoint: String, runtimeDirectory: String, servedAt: String? = nil,
         cache: KernelCacheMode = .names) {
        self.host = host
        guests = GuestManager(host: host)
        events = EventHub(host: host)
        let tree = SysfsTree(host: host)
        // sysfs is mounted noexec and nodev (kernfs_fill_super); FUSE adds nosuid, nodev.
        mount = FuseMount(fileSystem: tree, mountpoint: mountpoint,
                          options: FuseMount.Options(fsname: "vfio-ap-sim", subtype: "vfio-ap-sim",
                                                     // auto_unmount: fusermount3 unmounts when this
                                                     // process dies, however it dies (no dead mounts).
                                                     extraOptions: ["noexec", "auto_unmount"],
                                                     kernelCache: cache.kernelCache, pageCache: cache.pageCache,
                                                     openLess: cache.openLess))
        mount.willStop = { [host] in host.shutdown() }
        // The name was checked when the host was booted (HostNameRule).
        control = ControlServer(path: "\(runtimeDirectory)/\(host.name).sock",
                                handler: ControlRequests.handler(for: guests, events: events,
                                                                 servedAt: servedAt ?? mountpoint, tree: mountpoint))
    }
}
