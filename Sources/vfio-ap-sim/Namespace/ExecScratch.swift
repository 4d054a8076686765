import Foundation
import Glibc

/// exec's scratch directory, /tmp/vfio-ap-sim-exec-UID/XXXXXX (0700): the
/// emulated tree's mount point, the overlay's layer of mount points, the
/// kmsg mount and the private host's control socket. Inside exec's mount
/// namespace a tmpfs covers it, so what is made there costs no journal
/// writes and goes with the namespace; outside, the directory holds only
/// its lock and is removed when exec ends or fails to start, with its
/// parent once that is empty. After a SIGKILL it stays behind, and the
/// next exec of the same user removes it: each exec holds an flock on
/// `.lock` inside its directory for its whole life (close-on-exec, so the
/// command does not hold it), and a directory whose lock can be taken
/// belongs to an exec that is gone, whatever pid namespace it ran in.
///
/// The scratch directories of one user live in a directory of that user's
/// own (0700) so that looking for stale ones lists only them: listing /tmp
/// itself cost every exec 1-2 ms of ext4 readdir where /tmp held 1,400
/// entries. Where that directory cannot be had (another user made one of
/// that name), the scratch directory is made in /tmp itself, and only such
/// an exec lists /tmp for the stale ones of its kind.
enum ExecScratch {
    static let base = "/tmp"
    static let lockName = ".lock"
    /// The name prefix of scratch directories made in /tmp itself.
    static let fallbackPrefix = "vfio-ap-sim-exec."

    /// The directory of this user's scratch directories.
    static var userDirectory: String { "\(base)/vfio-ap-sim-exec-\(geteuid())" }

    /// Lock descriptors held for the life of the process.
    nonisolated(unsafe) private static var held: [Int32] = []
    /// Whether this process made its scratch directory in /tmp itself.
    nonisolated(unsafe) private static var madeInBase = false

    /// Creates a scratch directory and takes its lock.
    static func create() throws -> String {
        let dir = try makeDirectory()
        // Locked under a temporary name, then renamed: a cleaner only ever
        // sees a `.lock` that is already held.
        let pending = dir + "/" + lockName + ".new"
        let fd = open(pending, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0, flock(fd, LOCK_EX) == 0, rename(pending, dir + "/" + lockName) == 0 else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            try? FileManager.default.removeItem(atPath: dir)
            throw UserError("cannot lock the scratch directory \(dir): \(reason)")
        }
        held.append(fd)
        return dir
    }

    /// A new directory in the user's directory, or in /tmp itself where
    /// the user's directory cannot be had.
    private static func makeDirectory() throws -> String {
        // An exec that ends removes the user's directory once it is empty:
        // made again, and the scratch directory tried again, when that
        // happened in between.
        for _ in 0..<16 {
            guard mkdir(userDirectory, 0o700) == 0 || errno == EEXIST, userDirectoryIsOwn() else { break }
            if let dir = makeTemporary(userDirectory + "/XXXXXX") { return dir }
            guard errno == ENOENT else { break }
        }
        if let dir = makeTemporary(base + "/" + fallbackPrefix + "XXXXXX") {
            madeInBase = true
            return dir
        }
        throw UserError("cannot create a scratch directory in \(base): \(String(cString: strerror(errno)))")
    }

    private static func makeTemporary(_ template: String) -> String? {
        var bytes = Array(template.utf8CString)
        return mkdtemp(&bytes).map { String(cString: $0) }
    }

    /// Whether the user's directory is a directory of this user's, closed
    /// to everyone else (and not a link someone else left at its name).
    private static func userDirectoryIsOwn() -> Bool {
        var st = stat()
        return lstat(userDirectory, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR && st.st_uid == geteuid()
            && st.st_mode & 0o077 == 0
    }

    /// Covers `dir` with a private tmpfs (0700). Only inside exec's own
    /// mount namespace; where no tmpfs may be mounted the directory is used
    /// as it is.
    static func coverWithTmpfs(_ dir: String) {
        try? MountTable.mount("vfio-ap-sim-scratch", dir, type: "tmpfs",
                              flags: UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC), data: "mode=0700")
    }

    /// Removes `dir` once exec is done with it: its tmpfs (and whatever is
    /// still mounted in it) detached, then the lock and the directory; one
    /// left uncovered is removed with its contents. Then the user's
    /// directory, unless other scratch directories are still in it.
    static func remove(_ dir: String) {
        MountTable.detach(dir)
        unlink(dir + "/" + lockName)
        if rmdir(dir) != 0 { try? FileManager.default.removeItem(atPath: dir) }
        if dir.hasPrefix(userDirectory + "/") { rmdir(userDirectory) }
    }

    /// Runs `body` while removeStale lists the user's directory on a
    /// thread of its own.
    static func removingStale<T>(while body: () -> T) -> T {
        let removal = Background { removeStale() }
        let result = body()
        try? removal.value()
        return result
    }

    /// Removes the scratch directories of this user's execs that are gone
    /// (their lock is free). Directories still locked are left alone. An
    /// exec whose own directory is in /tmp (the user's directory is not
    /// the user's own) looks there too, for those made the same way.
    static func removeStale() {
        if userDirectoryIsOwn(), let entries = try? DirectoryEntries(userDirectory) {
            for name in entries.entries.map(\.name) { removeIfStale(userDirectory + "/" + name) }
        }
        if madeInBase, let entries = try? DirectoryEntries(base) {
            for name in entries.entries.map(\.name) where name.hasPrefix(fallbackPrefix) { removeIfStale(base + "/" + name) }
        }
    }

    /// Removes `dir` if it is a directory of this user's whose lock is free.
    private static func removeIfStale(_ dir: String) {
        var st = stat()
        guard lstat(dir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == geteuid() else { return }
        let fd = open(dir + "/" + lockName, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            try? FileManager.default.removeItem(atPath: dir)
        }
        close(fd)
    }
}
