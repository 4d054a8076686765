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
    /// How its directories and links are read.
    var entries = EmulatedEntries.throughMount
    /// The machine's sysfs.
    var real = "/sys"

    /// Lays the overlay out at `target` (an empty directory outside /sys).
    /// `staging` is an empty scratch directory for a read-only copy of the
    /// real tree while the binds are made.
    func lay(at target: String, staging: String) throws {
        // A read-only recursive copy of the real /sys, slave to it so that
        // nothing mounted here could ever propagate back.
        try MountTable.bind(real, staging, recursive: true)
        defer {
            MountTable.detach(staging)
        }
        try MountTable.mount(nil, staging, flags: UInt(MS_SLAVE) | UInt(MS_REC))
        try Self.makeReadOnly(under: staging)
        try lay(at: target, realRoot: staging)
    }

    /// Lays the overlay over `real` itself, in a private mount namespace
    /// whose mounts are all private (exec): the real tree there is made
    /// read-only and stays reachable through a descriptor opened before the
    /// overlay covers it, so no staging copy is needed.
    ///
    /// With `marks` (an empty directory outside /sys), one overlayfs does
    /// it (OverlayFSLayout); where the kernel refuses that (no overlayfs,
    /// a container's user namespace), the binds below.
    func layOverReal(marks: String? = nil) throws {
        if let marks, (try? OverlayFSLayout(emulated: emulated, entries: entries, marks: marks, real: real).lay()) != nil { return }
        try Self.makeReadOnly(under: real)
        let fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw UserError("cannot open \(real): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try lay(at: real, realRoot: "/proc/self/fd/\(fd)")
    }

    /// The tmpfs at `target` and its binds; `realRoot` reaches the real
    /// tree, read-only.
    private func lay(at target: String, realRoot: String) throws {
        let emulatedTop = try entries.list(emulated)
        // Listed before the tmpfs covers it, when target is the real tree.
        let realTop = try DirectoryEntries(realRoot)
        try MountTable.mount(Self.source, target, type: "tmpfs",
                             flags: UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC), data: "mode=0755")
        do {
            let emulatedNames = Set(emulatedTop.map(\.name))
            for entry in realTop.entries {
                let src = realRoot + "/" + entry.name, dst = target + "/" + entry.name
                if Self.mergedDirectories.contains(entry.name), emulatedNames.contains(entry.name), entry.kind(at: src) == .directory {
                    try merge(real: src, emulated: emulated + "/" + entry.name, at: dst)
                } else {
                    try place(entry, from: src, at: dst)
                }
            }
            // Emulated top-level directories the machine lacks (fs/ is only a
            // placeholder for container runtimes in the emulated-only tree).
            let realNames = Set(realTop.entries.map(\.name))
            for entry in emulatedTop where entry.name != "fs" && !realNames.contains(entry.name) {
                try place(entry, from: emulated + "/" + entry.name, at: target + "/" + entry.name, linkTarget: entries.linkTarget)
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
    /// so the machine's /sys outside keeps its own. One mount_setattr(2)
    /// where the kernel has it, else a remount per mount.
    static func makeReadOnly(under path: String) throws {
        if MountAttributes.setReadOnlyRecursively(path) { return }
        for e in MountTable.mounts(under: path) { try MountTable.remountReadOnly(e) }
    }

    /// A directory of the tmpfs holding the real children (read-only binds)
    /// and the emulated ones (binds of the FUSE tree) in place of any real
    /// child of the same name.
    private func merge(real src: String, emulated emu: String, at dst: String) throws {
        try Self.makeDirectory(dst)
        let mine = try entries.list(emu)
        let mineNames = Set(mine.map(\.name))
        for entry in try DirectoryEntries(src).entries where !mineNames.contains(entry.name) {
            try place(entry, from: src + "/" + entry.name, at: dst + "/" + entry.name)
        }
        for entry in mine { try place(entry, from: emu + "/" + entry.name, at: dst + "/" + entry.name, linkTarget: entries.linkTarget) }
    }

    /// One entry at `dst`: a symlink is copied (its relative target then
    /// resolves inside the overlay), a directory or file is bound with what
    /// is mounted below it (the real tree is read-only already; a bind
    /// keeps that flag).
    private func place(_ entry: DirectoryEntries.Entry, from src: String, at dst: String,
                       linkTarget: (String) -> String? = { SymbolicLink.target($0) }) throws {
        let cover = try Self.makeNode(for: entry, from: src, at: dst, linkTarget: linkTarget)
        if cover != .none { try MountTable.bind(src, dst, recursive: cover == .tree) }
    }

    /// What must cover the node `makeNode` made at `dst`.
    enum Cover { case none, tree, file }

    /// The node an entry needs at `dst` (SysOverlay's tmpfs, or
    /// OverlayFSLayout's layer of mount points): a copy of a symlink, which
    /// nothing covers, or an empty directory or 0444 file for a bind of
    /// `src` to cover; `.none` also for an entry that vanished meanwhile.
    /// `linkTarget` reads a link of `src`'s tree.
    static func makeNode(for entry: DirectoryEntries.Entry, from src: String, at dst: String,
                         linkTarget: (String) -> String? = { SymbolicLink.target($0) }) throws -> Cover {
        switch entry.kind(at: src) {
        case .missing:
            return .none
        case .symlink:
            guard let target = linkTarget(src) else { throw UserError("cannot read the link \(src): \(String(cString: strerror(errno)))") }
            guard symlink(target, dst) == 0 else { throw UserError("cannot create \(dst): \(String(cString: strerror(errno)))") }
            return .none
        case .directory:
            try makeDirectory(dst)
            return .tree
        case .other:
            let fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0o444)
            guard fd >= 0 else { throw UserError("cannot create \(dst): \(String(cString: strerror(errno)))") }
            close(fd)
            return .file
        }
    }

    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw UserError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }
}
