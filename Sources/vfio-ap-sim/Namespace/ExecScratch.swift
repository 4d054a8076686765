import Foundation
import Glibc

/// exec's scratch directory, /tmp/vfio-ap-sim-exec.XXXXXX (0700): the
/// emulated tree's mount point, the overlay's layer of mount points, the
/// kmsg mount and the private host's control socket. Inside exec's mount
/// namespace a tmpfs covers it, so what is made there costs no journal
/// writes and goes with the namespace; outside, the directory holds only
/// its lock and is removed when exec ends or fails to start. After a
/// SIGKILL it stays behind, and the next exec of the same user removes
/// it: each exec holds an flock on `.lock` inside its directory for its
/// whole life (close-on-exec, so the command does not hold it), and a
/// directory whose lock can be taken belongs to an exec that is gone,
/// whatever pid namespace it ran in.
enum ExecScratch {
    static let base = "/tmp"
    static let prefix = "vfio-ap-sim-exec."
    static let lockName = ".lock"

    /// Lock descriptors held for the life of the process.
    nonisolated(unsafe) private static var held: [Int32] = []

    /// Creates a scratch directory and takes its lock.
    static func create() throws -> String {
        var template = Array("\(base)/\(prefix)XXXXXX".utf8CString)
        guard let pointer = mkdtemp(&template) else {
            throw UserError("cannot create a scratch directory in \(base): \(String(cString: strerror(errno)))")
        }
        let dir = String(cString: pointer)
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

    /// Covers `dir` with a private tmpfs (0700). Only inside exec's own
    /// mount namespace; where no tmpfs may be mounted the directory is used
    /// as it is.
    static func coverWithTmpfs(_ dir: String) {
        try? MountTable.mount("vfio-ap-sim-scratch", dir, type: "tmpfs",
                              flags: UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC), data: "mode=0700")
    }

    /// Removes `dir` once exec is done with it: its tmpfs (and whatever is
    /// still mounted in it) detached, then the lock and the directory; one
    /// left uncovered is removed with its contents.
    static func remove(_ dir: String) {
        MountTable.detach(dir)
        unlink(dir + "/" + lockName)
        if rmdir(dir) != 0 { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// Runs `body` while removeStale lists /tmp on a thread of its own:
    /// a /tmp of many entries then costs exec's start nothing.
    static func removingStale<T>(while body: () -> T) -> T {
        let removal = Background { removeStale() }
        let result = body()
        try? removal.value()
        return result
    }

    /// Removes the scratch directories of this user's execs that are gone
    /// (their lock is free). Directories without a lock (made by an older
    /// vfio-ap-sim), of other users, or still locked are left alone.
    static func removeStale() {
        guard let entries = try? DirectoryEntries(base) else { return }
        for name in entries.entries.map(\.name) where name.hasPrefix(prefix) {
            let dir = base + "/" + name
            var st = stat()
            guard lstat(dir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == geteuid() else { continue }
            let fd = open(dir + "/" + lockName, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                try? FileManager.default.removeItem(atPath: dir)
            }
            close(fd)
        }
    }
}
