import Foundation
import SystemPackage

/// Listings for readdir when the kernel opens directories itself
/// (`no_opendir`): requests then carry no handle, so the listing a
/// directory's readdir offsets index is kept here, by inode, until the tree
/// next changes a directory's entries. A large directory (bus/ap/devices of
/// a 65,536-queue host) is read in thousands of requests; listing it anew
/// for each would make one `ls` quadratic.
final class DirectoryListings: @unchecked Sendable {
    /// Enough for a walk's current directory and its ancestors, and a few
    /// readers at once; the oldest goes first.
    static let capacity = 64

    private struct Storage {
        /// Bumped by every change to any directory's entries: a listing
        /// made before it is never kept after it.
        var version: UInt64 = 0
        var listings: [UInt64: DirectoryHandle] = [:]
        var order: [UInt64] = []
    }
    // NSLock, not Synchronization's Mutex: Thread Sanitizer sees only the former.
    private var storage = Storage()
    private let lock = NSLock()

    /// The kept listing of the directory `inode`, or the one `make` builds
    /// (kept if no change came while it was built).
    func listing(_ inode: UInt64, make: () -> Result<DirectoryHandle, Errno>) -> Result<DirectoryHandle, Errno> {
        let (version, kept) = withLock { s in (s.version, s.listings[inode]) }
        if let kept { return .success(kept) }
        let made = make()
        if case .success(let listing) = made {
            withLock { s in
                guard s.version == version, s.listings[inode] == nil else { return }
                if s.order.count >= Self.capacity { s.listings[s.order.removeFirst()] = nil }
                s.listings[inode] = listing
                s.order.append(inode)
            }
        }
        return made
    }

    /// Some directory's entries changed: every kept listing goes.
    func invalidateAll() {
        withLock { s in
            s.version &+= 1
            s.listings.removeAll()
            s.order.removeAll()
        }
    }

    private func withLock<T>(_ body: (inout Storage) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&storage)
    }
}
