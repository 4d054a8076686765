import Glibc

/// exec's /sys in about 25 mounts instead of SysOverlay's 200: one
/// read-only overlayfs whose lower layers are a directory of mount points
/// for the emulated entries over the machine's sysfs, the machine's own
/// submounts of /sys bound back (an overlayfs does not show what is
/// mounted in its layers), and each emulated entry bound over its mount
/// point. The view is SysOverlay's; only the real entries come through
/// overlayfs rather than a bind each (docs/FIDELITY.md).
struct OverlayFSLayout {
    /// Where the emulated tree is mounted.
    let emulated: String
    /// How its directories and links are read.
    var entries = EmulatedEntries.throughMount
    /// An empty directory outside /sys for the mount points (exec's scratch).
    let marks: String
    /// The machine's sysfs, covered by the overlay.
    var real = "/sys"

    /// Lays the overlay over `real`, in exec's private mount namespace; on
    /// failure nothing of it stays mounted.
    func lay() throws {
        try layReal().make()
    }

    /// The overlay without the emulated entries yet: `real` read-only, the
    /// mount points, the overlayfs and the machine's submounts bound back.
    /// With `entries` from the model (EmulatedEntries.fromTree) nothing is
    /// read through the emulated tree's mount, so exec runs this while the
    /// tree is being mounted. On failure nothing of it stays mounted.
    func layReal() throws -> EmulatedBinds {
        let submounts = topSubmounts()
        try SysOverlay.makeReadOnly(under: real)
        // The real tree stays reachable through this once the overlay covers it.
        let fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw UserError("cannot open \(real): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let realRoot = "/proc/self/fd/\(fd)"
        let binds = try makeMountPoints(realRoot: realRoot)
        try MountTable.mount(SysOverlay.source, real, type: "overlay",
                             flags: UInt(MS_RDONLY) | UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC),
                             data: "lowerdir=\(marks):\(realRoot)")
        do {
            for path in submounts { try MountTable.bind(realRoot + path.dropFirst(real.count), path, recursive: true) }
        } catch {
            MountTable.detach(real)
            throw error
        }
        return EmulatedBinds(real: real, binds: binds)
    }

    /// What `layReal` leaves to do: each emulated entry bound over its
    /// mount point, from the tree's mount (which must serve by then).
    struct EmulatedBinds {
        let real: String
        let binds: [(source: String, path: String, tree: Bool)]

        /// Makes the binds; on failure the whole overlay is taken down.
        func make() throws {
            do {
                for b in binds { try MountTable.bind(b.source, b.path, recursive: b.tree) }
            } catch {
                MountTable.detach(real)
                throw error
            }
        }
    }

    /// The mounts directly below `real` (each bound back with what is below it).
    private func topSubmounts() -> [String] {
        let below = Set(MountTable.entries().map(\.mountPoint).filter { $0.hasPrefix(real + "/") })
        return below.filter { path in
            !below.contains { other in other != path && path.hasPrefix(other + "/") }
        }.sorted()
    }

    /// A mount point in `marks` for each child of the emulated top-level
    /// directories (SysOverlay.makeNode: a symlink is copied instead), as
    /// SysOverlay merges them: in the directories both trees share, and in
    /// those the machine lacks. Returns what to bind where once the
    /// overlay is mounted.
    private func makeMountPoints(realRoot: String) throws -> [(source: String, path: String, tree: Bool)] {
        var binds: [(source: String, path: String, tree: Bool)] = []
        for top in try entries.list(emulated) where top.name != "fs" {
            let src = emulated + "/" + top.name
            guard top.kind(at: src) == .directory else { continue }
            var st = stat()
            let realHas = lstat(realRoot + "/" + top.name, &st) == 0
            if realHas && !(SysOverlay.mergedDirectories.contains(top.name) && st.st_mode & S_IFMT == S_IFDIR) { continue }
            try SysOverlay.makeDirectory(marks + "/" + top.name)
            for child in try entries.list(src) {
                let from = src + "/" + child.name
                let cover = try SysOverlay.makeNode(for: child, from: from, at: marks + "/" + top.name + "/" + child.name,
                                                    linkTarget: entries.linkTarget)
                if cover != .none { binds.append((from, real + "/" + top.name + "/" + child.name, cover == .tree)) }
            }
        }
        return binds
    }
}
