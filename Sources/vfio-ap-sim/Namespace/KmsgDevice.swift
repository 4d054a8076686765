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
        try MountTable.bind(directory + KmsgFileSystem.path, Self.devicePath, recursive: false)
        bound = true
    }

    func stop() {
        if bound { MountTable.detach(Self.devicePath); bound = false }
        mount?.stop()
        mount = nil
    }
}
