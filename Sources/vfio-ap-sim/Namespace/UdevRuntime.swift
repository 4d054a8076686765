import Foundation
import Glibc

/// A private /run/udev for the command (exec's mount namespace only): the
/// machine's udev database describes devices the command cannot see, and
/// libudev switches its monitors off when `/run/udev/control` is missing
/// and /dev is not a devtmpfs (sd-device `device_monitor_new_full`), as in
/// containers.
enum UdevRuntime {
    static func makePrivate() throws {
        var st = stat()
        if lstat("/run/udev", &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
            try MountTable.mount("vfio-ap-sim", "/run/udev", type: "tmpfs",
                                 flags: UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC), data: "mode=0755")
        } else if MountTable.entries().last(where: { $0.mountPoint == "/dev" })?.fileSystemType == "devtmpfs" {
            // No udev on the machine, but /dev is a devtmpfs: libudev keeps
            // its monitors on, and /run (runtime directories, sockets) stays.
            return
        } else {
            // No udev and no devtmpfs (a container): a private /run holds
            // the directory (creating it in the machine's /run would show
            // outside).
            try MountTable.mount("vfio-ap-sim", "/run", type: "tmpfs",
                                 flags: UInt(MS_NOSUID) | UInt(MS_NODEV), data: "mode=0755")
            guard mkdir("/run/udev", 0o755) == 0 else { throw UserError("cannot create /run/udev: \(String(cString: strerror(errno)))") }
        }
        for d in ["/run/udev/data", "/run/udev/tags"] { _ = mkdir(d, 0o755) }
        let fd = open("/run/udev/control", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UserError("cannot create /run/udev/control: \(String(cString: strerror(errno)))") }
        close(fd)
    }
}
