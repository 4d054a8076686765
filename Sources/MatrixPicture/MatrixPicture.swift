/// The AP matrix of one host as people sketch it when they plan
/// pass-through: adapters as rows, usage domains as columns, and in each
/// cell who owns the queue. A value with no I/O, made from the same host
/// state the sysfs tree is derived from (`init(_:name:)`), drawn as text
/// by `TextRenderer` and written for scripts by `PictureJSON`.
public struct MatrixPicture: Equatable, Sendable {
    /// The host's name.
    public var host: String
    /// The rows: adapters in the AP configuration, with a card device, or
    /// assigned to an mdev; ascending.
    public var adapters: [Int]
    /// The columns: usage domains in the AP configuration, with queue
    /// devices, or assigned to an mdev; ascending.
    public var domains: [Int]
    /// The mdevs in creation order, each with its letter.
    public var mdevs: [MdevLabel]
    /// One cell per adapter and domain, adapter-major, in the order of
    /// `adapters` and `domains`.
    public var cells: [PictureCell]

    public init(host: String, adapters: [Int], domains: [Int], mdevs: [MdevLabel], cells: [PictureCell]) {
        self.host = host
        self.adapters = adapters
        self.domains = domains
        self.mdevs = mdevs
        self.cells = cells
    }

    /// The cell of row `row` and column `column` (indices into `adapters`, `domains`).
    public func cell(row: Int, column: Int) -> PictureCell { cells[row * domains.count + column] }

    /// The cell of an adapter and domain, if both are in the picture.
    public func cell(adapter: Int, domain: Int) -> PictureCell? {
        guard let r = adapters.firstIndex(of: adapter), let c = domains.firstIndex(of: domain) else { return nil }
        return cell(row: r, column: c)
    }
}

/// One mdev of the legend: its letter, UUID and the guest that has it open.
public struct MdevLabel: Equatable, Sendable, Codable {
    public var letter: String
    public var uuid: String
    /// The simulated guest with the mdev open, nil when none.
    public var guest: String?
    /// `running` or `paused` while a guest has it; nil otherwise.
    public var guestState: String?

    public init(letter: String, uuid: String, guest: String? = nil, guestState: String? = nil) {
        self.letter = letter
        self.uuid = uuid
        self.guest = guest
        self.guestState = guestState
    }

    enum CodingKeys: String, CodingKey {
        case letter, uuid, guest
        case guestState = "guest_state"
    }
}
