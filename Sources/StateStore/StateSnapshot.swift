import APCore

/// Everything a state file restores: the host model (APCore's `HostState`,
/// all but its clock and undelivered changes) and what the layers around it
/// keep of the same kernel: chmod/chown of sysfs nodes (kernfs iattrs), the
/// VFIO migration state of each open mdev, and the uevent SEQNUM counter.
public struct StateSnapshot: Sendable {
    public var host: HostState
    public var nodeAttributes: [NodeAttributes]
    /// The `device_state` (uAPI number) of each open mdev's migration driver.
    public var migrationStates: [String: UInt32]
    /// The last uevent SEQNUM handed out (`uevent_seqnum`).
    public var ueventSeqnum: UInt64

    public init(host: HostState, nodeAttributes: [NodeAttributes] = [], migrationStates: [String: UInt32] = [:],
                ueventSeqnum: UInt64 = 0) {
        self.host = host
        self.nodeAttributes = nodeAttributes
        self.migrationStates = migrationStates
        self.ueventSeqnum = ueventSeqnum
    }
}

/// What chmod and chown set on one node of the tree (`kernfs_iop_setattr`);
/// nil where the node keeps its default.
public struct NodeAttributes: Codable, Equatable, Sendable {
    /// The node's path in the tree, e.g. `/bus/ap/apmask`.
    public var path: String
    public var mode: UInt16?
    public var uid: UInt32?
    public var gid: UInt32?

    public init(path: String, mode: UInt16?, uid: UInt32?, gid: UInt32?) {
        self.path = path
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }
}

/// The parts of a snapshot that are not in the host model, read while the
/// host is locked (migration states, SEQNUM) or from the tree (node attributes).
public struct SurroundingState: Sendable, Equatable {
    public var migrationStates: [String: UInt32]
    public var ueventSeqnum: UInt64

    public init(migrationStates: [String: UInt32] = [:], ueventSeqnum: UInt64 = 0) {
        self.migrationStates = migrationStates
        self.ueventSeqnum = ueventSeqnum
    }
}
