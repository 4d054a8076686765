import APCore
import Foundation
import Sysfs
import SystemPackage

/// The emulated host's kernel log as /dev/kmsg serves it (kernel/printk
/// `devkmsg_read`, `devkmsg_llseek`, `devkmsg_write`): one file, `/kmsg`,
/// whose reads return one record each (`prio,seq,usec,-;text\n`), EAGAIN at
/// the end for O_NONBLOCK readers and a wait for the next line otherwise, so
/// util-linux `dmesg` and `dmesg -w` show the emulated host's log. Offsets
/// are cumulative record sizes: SEEK_SET 0 and SEEK_DATA go to the first
/// record, SEEK_END (the file's size) past the last.
public final class KmsgFileSystem: RecordFileSystem, @unchecked Sendable {
    public static let path = "/kmsg"
    private let host: S390Host
    /// Byte offset of each record (index = sequence number), kept in step
    /// with the log: `ends[i]` is where record i ends.
    private var ends: [Int] = []
    private var records: [String] = []
    private let condition = NSCondition()
    private var stopped = false

    public init(host: S390Host) {
        self.host = host
        host.observe { [weak self] changes in
            guard changes.contains(.kernelLog) else { return }
            self?.condition.lock()
            self?.condition.broadcast()
            self?.condition.unlock()
        }
    }

    /// Brings the record index up to the log (lock held).
    private func refresh() {
        host.read { s in
            let log = s.log
            guard log.nextSequence > records.count else { return }
            for seq in max(records.count, log.dropped)..<log.nextSequence {
                while records.count < seq { records.append(""); ends.append(ends.last ?? 0) }
                let r = KernelLog.kmsgRecord(log.entries[seq - log.dropped], sequence: seq)
                records.append(r)
                ends.append((ends.last ?? 0) + r.utf8.count)
            }
        }
    }

    private var totalSize: Int { ends.last ?? 0 }

    public func readRecord(_ path: String, offset: Int, size: Int, nonblocking: Bool,
                           cancelled: () -> Bool) -> Result<[UInt8], Errno> {
        guard path == Self.path else { return .failure(.noSuchFileOrDirectory) }
        condition.lock()
        defer { condition.unlock() }
        while true {
            refresh()
            if stopped { return .failure(.noDevice) }
            if offset < totalSize {
                // The record starting at `offset` (ends are ascending).
                var lo = 0, hi = ends.count - 1
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if ends[mid] <= offset { lo = mid + 1 } else { hi = mid }
                }
                let start = lo == 0 ? 0 : ends[lo - 1]
                guard start == offset else { return .failure(.invalidArgument) }
                let bytes = Array(records[lo].utf8)
                // devkmsg_read: a buffer too small for the record is EINVAL.
                guard bytes.count <= size else { return .failure(.invalidArgument) }
                return .success(bytes)
            }
            if nonblocking { return .failure(.resourceTemporarilyUnavailable) }
            if cancelled() { return .failure(.interrupted) }
            _ = condition.wait(until: Date().addingTimeInterval(0.1))
        }
    }

    public func firstRecordOffset(_ path: String) -> Result<Int, Errno> {
        guard path == Self.path else { return .failure(.noSuchFileOrDirectory) }
        return .success(0)
    }

    public func stopWaiting() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    // MARK: - VirtualFileSystem

    public func stat(_ path: String) -> Result<NodeStat, Errno> {
        switch path {
        case "/": return .success(NodeStat(type: .directory, mode: 0o755, size: 0, nlink: 2))
        case Self.path:
            condition.lock()
            refresh()
            let size = totalSize
            condition.unlock()
            // /dev/kmsg is crw-r--r-- root root.
            return .success(NodeStat(type: .regularFile, mode: 0o644, size: size, nlink: 1))
        default: return .failure(.noSuchFileOrDirectory)
        }
    }

    public func list(_ path: String) -> Result<[DirectoryEntry], Errno> {
        path == "/" ? .success([DirectoryEntry(name: "kmsg", type: .regularFile)]) : .failure(.notDirectory)
    }

    public func readlink(_ path: String) -> Result<String, Errno> { .failure(.invalidArgument) }

    public func checkOpen(_ path: String, access: OpenAccess) -> Result<Void, Errno> {
        path == Self.path ? .success(()) : .failure(.noSuchFileOrDirectory)
    }

    public func show(_ path: String) -> Result<[UInt8], Errno> { .failure(.invalidArgument) }

    /// `devkmsg_write`: one line per write, an optional `<N>` prefix giving
    /// facility and level (default facility user, level 4 as
    /// `default_message_loglevel`).
    public func store(_ path: String, _ data: [UInt8]) -> Result<Int, Errno> {
        guard path == Self.path else { return .failure(.noSuchFileOrDirectory) }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        var level = KernelLog.Level.warning, facility = 1
        if text.hasPrefix("<"), let close = text.firstIndex(of: ">"),
           let u = Int(text[text.index(after: text.startIndex)..<close]) {
            level = KernelLog.Level(rawValue: u & 7) ?? .warning
            if u >> 3 != 0 { facility = u >> 3 }
            text = String(text[text.index(after: close)...])
        }
        host.update { $0.log(level, text, facility: facility) }
        return .success(data.count)
    }

    public func setOwnership(_ path: String, mode: UInt16?, uid: UInt32?, gid: UInt32?) -> Result<Void, Errno> {
        .failure(.notPermitted)
    }

    public func observeChanges(_ observer: @escaping @Sendable (ChangeSet) -> Void) {
        host.observe { changes in
            if changes.contains(.kernelLog) { observer(ChangeSet(contentChanged: [Self.path])) }
        }
    }
}
