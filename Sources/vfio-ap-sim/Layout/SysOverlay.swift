import Foundation
import Glibc

/// A /sys as an s390 host has it: the machine's own sysfs entries, read-only,
/// with the emulated AP objects laid over them (`bus/ap`, `bus/matrix`,
/// `bus/mdev`, `devices/ap`, `devices/vfio_ap`, `class/mdev_bus`,
/// `class/vfio-dev`, `kernel/iommu_groups`, `module/vfio_ap`,
/// `module/zcrypt_cex4`: whatever the emulated tree has below those
/// directories).
///
/// Built from mounts only: a tmpfs at the target, a bind for each entry of
/// the real /sys (and of the directories both share), made read-only, and a
/// bind of each emulated entry from the FUSE mount. The machine's sysfs is
/// only ever a bind source: nothing is mounted on it, and every view of it
/// here is read-only.
struct SysOverlay {
    /// Directories whose children come from both trees; the emulated child wins.
    static let mergedDirectories: Set<String> = ["bus", "class", "devices", "kernel", "module"]

    /// Where the emulated tree is mounted.
    let emulated: String
    /// The machine's sysfs.
    var real = "/sys"

    /// Lays the overlay out at `target` (an empty directory, or /sys inside a
    /// private mount namespace). `staging` is an empty scratch directory for
    /// a read-only copy of the real tree while the binds are made.
    func lay(at target: String, staging: String) throws {
        // A read-only recursive copy of the real /sys, slave to it so that
        // nothing mounted here could ever propagate back.
        try MountTable.bind(real, staging, recursive: true)
        defer {
            MountTable.detach(staging)
        }
        try MountTable.mount(nil, staging, flags: UInt(MS_SLAVE) | UInt(MS_REC))
        try Self.makeReadOnly(under: staging)

        try MountTable.mount(Self.source, target, type: "tmpfs",
                             flags: UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC), data: "mode=0755")
        do {
            let emulatedTop = Set(try listing(emulated))
            for name in try listing(staging) {
                let src = staging + "/" + name, dst = target + "/" + name
                if Self.mergedDirectories.contains(name), emulatedTop.contains(name), isDirectory(src) {
                    try merge(real: src, emulated: emulated + "/" + name, at: dst)
                } else {
                    try place(src, at: dst)
                }
            }
            // Emulated top-level directories the machine lacks (fs/ is only a
            // placeholder for container runtimes in the emulated-only tree).
            for name in emulatedTop.sorted() where name != "fs" && !FileManager.default.fileExists(atPath: target + "/" + name) {
                try place(emulated + "/" + name, at: target + "/" + name)
            }
            // Nothing new at the top: the tmpfs itself becomes read-only.
            try MountTable.mount(nil, target, flags: UInt(MS_REMOUNT) | UInt(MS_RDONLY) | UInt(MS_NOSUID)
                                    | UInt(MS_NODEV) | UInt(MS_NOEXEC), data: "mode=0755")
        } catch {
            MountTable.detach(target)
            throw error
        }
    }

    /// The tmpfs source name that marks an overlay's top mount.
    static let source = "vfio-ap-sim"

    /// Removes an overlay laid at `target` (and everything below it), if the
    /// top mount there is one; anything else is left alone.
    static func remove(at target: String) {
        guard let top = MountTable.entries().last(where: { $0.mountPoint == target }),
              top.fileSystemType == "tmpfs", top.source == source else { return }
        MountTable.detach(target)
    }

    /// Makes every mount at or below `path` read-only. Only for a private
    /// mount namespace's own copy of /sys (exec): the flags are per mount,
    /// so the machine's /sys outside keeps its own.
    static func makeReadOnly(under path: String) throws {
        for e in MountTable.mounts(under: path) { try MountTable.remountReadOnly(e) }
    }

    /// A directory of the tmpfs holding the real children (read-only binds)
    /// and the emulated ones (binds of the FUSE tree) in place of any real
    /// child of the same name.
    private func merge(real src: String, emulated emu: String, at dst: String) throws {
        try makeDirectory(dst)
        let mine = try listing(emu)
        for name in try listing(src) where !mine.contains(name) {
            try place(src + "/" + name, at: dst + "/" + name)
        }
        for name in mine { try place(emu + "/" + name, at: dst + "/" + name) }
    }

    /// One entry at `dst`: a symlink is copied (its relative target then
    /// resolves inside the overlay), a directory or file is bound with what
    /// is mounted below it (the copy of the real tree is read-only already;
    /// a bind keeps that flag).
    private func place(_ src: String, at dst: String) throws {
        var st = stat()
        guard lstat(src, &st) == 0 else { return }  // vanished meanwhile
        switch st.st_mode & S_IFMT {
        case S_IFLNK:
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: src)
            guard symlink(target, dst) == 0 else { throw UserError("cannot create \(dst): \(String(cString: strerror(errno)))") }
        case S_IFDIR:
            try makeDirectory(dst)
            try MountTable.bind(src, dst, recursive: true)
        default:
            let fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0o444)
            guard fd >= 0 else { throw UserError("cannot create \(dst): \(String(cString: strerror(errno)))") }
            close(fd)
            try MountTable.bind(src, dst, recursive: false)
        }
    }

    private func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw UserError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    private func listing(_ path: String) throws -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: path).sorted() } catch {
            throw UserError("cannot list \(path): \(error.localizedDescription)")
        }
    }
}
