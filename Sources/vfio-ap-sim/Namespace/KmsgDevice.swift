import APCore
import Events
import Foundation
import FuseServer
import Glibc

/// The emulated host's kernel log at /dev/kmsg (exec's mount namespace
/// only): a one-file FUSE mount in a scratch directory, its file bound over
/// the machine's /dev/kmsg, so util-linux dmesg reads the emulated log.
final class KmsgDevice {
    static let devicePath = "/dev/kmsg"
    private let host: S390Host
    private var mount: FuseMount?
    private var bound = false
    /// A container's /dev may have no kmsg: the mount point is made here
    /// (in the container's own /dev) and removed again.
    private var createdDevicePath = false

    init(host: S390Host) { self.host = host }

    /// Mounts the log at `directory` (created here) and binds it over /dev/kmsg.
    func start(at directory: String) throws {
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw UserError("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        let m = FuseMount(fileSystem: KmsgFileSystem(host: host), mountpoint: directory,
                          options: FuseMount.Options(fsname: "vfio-ap-sim", subtype: "vfio-ap-sim",
                                                     extraOptions: ["noexec"]))
        try m.start()
        mount = m
        if access(Self.devicePath, F_OK) != 0 {
            let fd = open(Self.devicePath, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
            // No /dev/kmsg and none can be made: dmesg falls back to syslog(2).
            guard fd >= 0 else { return }
            close(fd)
            createdDevicePath = true
        }
        try MountTable.bind(directory + KmsgFileSystem.path, Self.devicePath, recursive: false)
        bound = true
    }

    /// The machine's /dev/kmsg back, readers waiting for the next record
    /// let go, and the log's mount point detached; its session serves on
    /// until the process exits (exec's end).
    func detach() {
        if bound { MountTable.detach(Self.devicePath); bound = false }
        if createdDevicePath { unlink(Self.devicePath); createdDevicePath = false }
        if let m = mount {
            m.releaseWaiters()
            MountTable.detach(m.mountpoint)
        }
    }

    func stop() {
        if bound { MountTable.detach(Self.devicePath); bound = false }
        if createdDevicePath { unlink(Self.devicePath); createdDevicePath = false }
        mount?.stop()
        mount = nil
    }
}
