/// Why a state file cannot be used. Every message names the file and what
/// is wrong with it; a file that is refused is never changed.
public struct StateFileError: Error, CustomStringConvertible, Equatable {
    public enum Problem: Equatable, Sendable {
        /// open() or read() failed (strerror text).
        case unreadable(String)
        case empty
        /// Not a state file at all: no header line, or one that is not ours.
        case foreign(String)
        case newerVersion(Int)
        case badHeader(String)
        case truncated(have: Int, want: Int)
        /// The file ends within its header line.
        case truncatedHeader
        case trailingBytes(Int)
        case checksum(computed: String, header: String)
        case undecodable(String)
        case topologyMismatch(file: TopologyIdentity, given: TopologyIdentity)
        /// Another vfio-ap-sim holds the file's lock.
        case inUse
        /// The lock file cannot be made or locked (what was done, strerror text).
        case cannotLock(String)
        /// Creating, writing or syncing failed (what was done, strerror text).
        case cannotWrite(String)
    }

    public var path: String
    public var problem: Problem

    public init(_ path: String, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// Whether the file was found and left untouched because of what it holds.
    public var isRefusal: Bool {
        switch problem {
        case .unreadable, .inUse, .cannotLock, .cannotWrite: return false
        default: return true
        }
    }

    public var description: String {
        let what: String
        switch problem {
        case .unreadable(let reason): return "cannot read the state file \(path): \(reason)"
        case .inUse: return "the state file \(path) is in use by another vfio-ap-sim (its lock \(path).lock is held)"
        case .cannotLock(let reason): return "cannot lock the state file \(path): \(reason)"
        case .cannotWrite(let reason): return "cannot save the host's state to \(path): \(reason)"
        case .empty: what = "it is empty (truncated)"
        case .foreign(let reason): what = "it is not a vfio-ap-sim state file (\(reason))"
        case .newerVersion(let v):
            what = "it was written by a newer vfio-ap-sim (state format version \(v); this one reads version \(StateFileHeader.currentVersion) and older)"
        case .badHeader(let reason): what = "its header is damaged (\(reason))"
        case .truncated(let have, let want): what = "it is truncated: the payload has \(have) of its \(want) bytes"
        case .truncatedHeader: what = "it is truncated within its header line"
        case .trailingBytes(let n): what = "it is damaged: \(n) bytes follow the payload"
        case .checksum(let computed, let header):
            what = "it is damaged: the payload's CRC-32 is \(computed), the header says \(header)"
        case .undecodable(let reason): what = "it is damaged: the payload does not decode (\(reason))"
        case .topologyMismatch(let file, let given):
            what = "it holds a host booted from topology \(file), not from \(given); give the same --topology (or none), or another --state file"
        }
        return "refusing the state file \(path): \(what); the file is left as it is"
    }
}
