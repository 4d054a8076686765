/// One queue of the matrix (one adapter and one usage domain): who owns it
/// and what state the queue is in.
public struct PictureCell: Equatable, Hashable, Sendable, Codable {
    public var adapter: Int
    public var domain: Int
    /// `%02lx.%04lx`, as the queue device is named.
    public var apqn: String
    public var owner: Owner
    /// The letter of the mdev whose matrix holds the APQN, nil when none.
    public var mdev: String?
    /// For an APQN in an mdev's matrix: whether its guest_matrix has it and
    /// a guest uses it.
    public var use: Use?
    public var state: State

    public init(adapter: Int, domain: Int, apqn: String, owner: Owner, mdev: String? = nil, use: Use? = nil, state: State) {
        self.adapter = adapter
        self.domain = domain
        self.apqn = apqn
        self.owner = owner
        self.mdev = mdev
        self.use = use
        self.state = state
    }

    /// Who has the queue.
    public enum Owner: String, Sendable, Codable, CaseIterable {
        /// Bound to the host's AP queue driver, cex4queue (zcrypt).
        case hostDriver = "host-driver"
        /// A queue device bound to no driver.
        case noDriver = "no-driver"
        /// Bound to vfio_ap, in no mdev's matrix (`status`: unassigned).
        case vfioAP = "vfio_ap"
        /// In an mdev's matrix (see `mdev` and `use`).
        case mdev
        /// No queue device and in no mdev's matrix.
        case none
    }

    /// How an mdev's APQN reaches its guest.
    public enum Use: String, Sendable, Codable, CaseIterable {
        /// In the guest_matrix, no guest has the mdev open (`status`: assigned).
        case assigned
        /// In the guest_matrix of an mdev a guest has open (`status`: in use).
        case inUse = "in-use"
        /// Not in the guest_matrix: vfio_ap's filter left it out, or there is no queue device.
        case filtered
    }

    /// The queue device's state, as its sysfs attributes say.
    public enum State: String, Sendable, Codable, CaseIterable {
        case online
        /// zcrypt's `online` is 0 (queues bound to cex4queue only).
        case offline
        /// `config` is 0 (SCLP deconfigured).
        case deconfigured
        /// `chkstop` is 1.
        case checkstopped
        /// No queue device: the adapter or domain is outside the configuration, or the bus has not made it.
        case absent
    }

    /// Everything but the position: cells that look the same merge when a
    /// large matrix is condensed.
    public var look: Look { Look(owner: owner, mdev: mdev, use: use, state: state) }

    public struct Look: Hashable, Sendable {
        public var owner: Owner
        public var mdev: String?
        public var use: Use?
        public var state: State
    }
}
