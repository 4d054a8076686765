/// An AP adapter (crypto card) of the machine and, while the AP bus has
/// one, its card device `cardXX`. The machine keeps its adapters when they
/// leave the partition's configuration; only the card device goes.
public struct Adapter: Sendable, Equatable, Codable {
    public var id: Int
    /// The AP bus has a card device for it (`ap_scan_adapter` made one and
    /// no scan has removed it since).
    public var cardDevice: Bool
    /// The TAPQ GR2 value the AP bus read when it scanned the adapter, unmasked;
    /// the card device shows its `TAPQ_CARD_HWINFO_MASK` copy.
    public var hardwareInfo: HardwareInfo
    /// The card device's `config` (`ac->config`): configured as the last bus
    /// scan saw it, or as a `config` write set it. The machine's own state
    /// is `APHardware.deconfigured`.
    public var configured: Bool
    /// The card device's `chkstop` (`ac->chkstop`), as the last bus scan saw
    /// it (`APHardware.checkstopped` is the machine's).
    public var checkstopped: Bool
    /// zcrypt's own online switch (`online` shows it only while configured).
    public var zcryptOnline: Bool
    /// Whether the card device is bound to `cex4card`.
    public var boundToCEX4Card: Bool
    public var requestCount: UInt64
    /// CCA or EP11 serial number (`serialnr`); empty when the card gives none.
    public var serialNumber: String
    /// EP11 only: `API_ordinalnr`, `FW_version` (major, minor), `op_modes`.
    public var ep11APIOrdinal: Int?
    public var ep11FirmwareVersion: FirmwareVersion?
    public var ep11OperationModes: [String]
    /// zcrypt `load`.
    public var load: Int

    public init(id: Int, hardwareInfo: HardwareInfo) {
        self.id = id
        self.hardwareInfo = hardwareInfo
        cardDevice = true
        configured = true
        checkstopped = false
        zcryptOnline = true
        boundToCEX4Card = true
        requestCount = 0
        serialNumber = ""
        ep11APIOrdinal = nil
        ep11FirmwareVersion = nil
        ep11OperationModes = []
        load = 0
    }

    /// cex4card takes the card device: `zcrypt_cex4_card_probe` registers
    /// a new zcrypt card, online by default (`zcrypt_card_register`),
    /// whatever an earlier one was.
    mutating func bindToCEX4Card() {
        boundToCEX4Card = true
        zcryptOnline = true
    }

    /// What the card device shows (`ap_scan_adapter` keeps a masked copy).
    public var cardHardwareInfo: HardwareInfo { hardwareInfo.cardCopy }
}

/// An EP11 card's firmware version (`FW_version`: major, minor).
public struct FirmwareVersion: Sendable, Equatable, Codable {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }
}
