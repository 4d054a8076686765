import Glibc

/// mount_setattr(2) (Linux 5.12, glibc 2.36), looked up at run time: the
/// Glibc module does not declare it, and older systems lack it.
enum MountAttributes {
    /// struct mount_attr of <linux/mount.h>.
    private struct MountAttr {
        var attrSet: UInt64
        var attrClear: UInt64
        var propagation: UInt64
        var userNamespaceFD: UInt64
    }

    private typealias SetAttr = @convention(c) (Int32, UnsafePointer<CChar>, UInt32, UnsafeMutableRawPointer, Int) -> Int32
    private static let setattr: SetAttr? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mount_setattr")
        .map { unsafeBitCast($0, to: SetAttr.self) }

    private static let readOnly: UInt64 = 0x1  // MOUNT_ATTR_RDONLY
    private static let emptyPath: UInt32 = 0x1000, recursive: UInt32 = 0x8000  // AT_EMPTY_PATH, AT_RECURSIVE

    /// Makes the mount at `path` and every mount below it read-only, other
    /// per-mount flags unchanged; false when the kernel or libc cannot (the
    /// caller then remounts one by one).
    static func setReadOnlyRecursively(_ path: String) -> Bool {
        guard let setattr else { return false }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var attr = MountAttr(attrSet: readOnly, attrClear: 0, propagation: 0, userNamespaceFD: 0)
        return withUnsafeMutableBytes(of: &attr) { raw in
            setattr(fd, "", emptyPath | recursive, raw.baseAddress!, MemoryLayout<MountAttr>.size)
        } == 0
    }
}
