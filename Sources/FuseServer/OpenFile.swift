import Foundation
import Sysfs
import SystemPackage

/// One open attribute: the `seq_file` that `kernfs_fop_open` sets up.
///
/// Reads follow `seq_read_iter` with `kernfs_seq_start` (a single record):
/// a read at offset 0 runs `show()` again, a read continuing where the last
/// one stopped is served from the kept buffer, and a read elsewhere re-runs
/// `show()` and skips to the offset (`traverse`).
final class OpenFile: @unchecked Sendable {
    let inode: UInt64
    let path: String

    /// seq_file's `m->lock`: one read at a time per open file.
    private let lock = NSLock()
    private var buffer: [UInt8]?
    private var readPosition = 0

    init(inode: UInt64, path: String) {
        self.inode = inode
        self.path = path
    }

    func read(offset: Int, size: Int, show: () -> Result<[UInt8], Errno>) -> Result<ArraySlice<UInt8>, Errno> {
        lock.lock()
        defer { lock.unlock() }
        if offset == 0 || buffer == nil || offset != readPosition {
            switch show() {
            case .success(let content):
                buffer = content
            case .failure(let error):
                buffer = nil
                readPosition = 0
                return .failure(error)
            }
        }
        let content = buffer ?? []
        guard offset < content.count, size > 0 else {
            readPosition = offset
            return .success([])
        }
        let end = min(content.count, offset + size)
        readPosition = end
        return .success(content[offset..<end])
    }
}

/// An open directory: its listing is taken once at opendir so that readdir
/// offsets stay meaningful however many requests the listing spans.
final class DirectoryHandle: @unchecked Sendable {
    struct Entry {
        var name: String
        var type: NodeType
    }

    let inode: UInt64
    let path: String
    /// False when opened after the directory was removed (only the dots).
    let attached: Bool
    /// ".", ".." and then the tree's entries; readdir offset n resumes at
    /// index n.
    let entries: [Entry]
    /// Whether READDIRPLUS gives the links of this listing their attributes:
    /// in a directory mostly of links (bus/ap/devices, a driver's
    /// directory), where `ls -l` would otherwise look each one up; not for
    /// the `driver` and `subsystem` links of a device directory, which a
    /// walk of the tree would otherwise bind by the hundred thousand.
    let linksWithAttributes: Bool

    init(inode: UInt64, path: String, attached: Bool = true, listing: [DirectoryEntry]) {
        self.inode = inode
        self.path = path
        self.attached = attached
        var entries = [Entry(name: ".", type: .directory), Entry(name: "..", type: .directory)]
        entries.reserveCapacity(listing.count + 2)
        var links = 0
        for entry in listing {
            entries.append(Entry(name: entry.name, type: entry.type))
            if entry.type == .symlink { links += 1 }
        }
        self.entries = entries
        linksWithAttributes = links * 2 > listing.count
    }
}

/// File handles are retained objects whose address is the `fh`.
enum FileHandle {
    static func make(_ object: AnyObject) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passRetained(object).toOpaque()))
    }

    static func get<T: AnyObject>(_ fh: UInt64, as _: T.Type) -> T? {
        guard let pointer = UnsafeRawPointer(bitPattern: UInt(fh)) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() as? T
    }

    static func release(_ fh: UInt64) {
        guard let pointer = UnsafeRawPointer(bitPattern: UInt(fh)) else { return }
        Unmanaged<AnyObject>.fromOpaque(pointer).release()
    }
}
