import CFuse
import Foundation
import Sysfs

/// Converts the tree's `NodeStat` into the `struct stat` FUSE replies carry.
enum Attributes {
    static func typeBits(_ type: NodeType) -> mode_t {
        switch type {
        case .directory: return S_IFDIR
        case .regularFile: return S_IFREG
        case .symlink: return S_IFLNK
        }
    }

    /// Like `kernfs_refresh_inode`: mode/uid/gid from the node, size as
    /// given (4096 for attributes), blocks 0. All times are the mount time,
    /// as kernfs stamps inodes once.
    static func make(_ node: NodeStat, inode: UInt64, time: timespec) -> stat {
        var st = stat()
        st.st_ino = UInt(truncatingIfNeeded: inode)
        st.st_mode = typeBits(node.type) | mode_t(node.mode & 0o7777)
        st.st_nlink = UInt(max(node.nlink, 1))
        st.st_uid = node.uid
        st.st_gid = node.gid
        st.st_size = off_t(node.size)
        st.st_blksize = 4096
        st.st_blocks = 0
        st.st_atim = time
        st.st_mtim = time
        st.st_ctim = time
        return st
    }

    /// d_type/st_ino as readdir needs them.
    static func direntry(type: NodeType, inode: UInt64) -> stat {
        var st = stat()
        st.st_ino = UInt(truncatingIfNeeded: inode)
        st.st_mode = typeBits(type)
        return st
    }
}
