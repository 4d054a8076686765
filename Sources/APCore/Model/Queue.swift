/// An AP queue device `XX.YYYY` below its card.
public struct Queue: Sendable, Hashable, Codable {
    public var apqn: APQN
    /// The live TAPQ GR2 value (queue `ap_functions`, `hwinfo`), including BS bits.
    public var hardwareInfo: HardwareInfo
    /// The hardware's per-queue states (what TAPQ answers for this APQN
    /// besides its adapter's SCLP and checkstop state, `APHardware`).
    public var configuredOverride: Bool
    public var checkstopped: Bool
    /// The device's `config` and `chkstop` (`aq->config`, `aq->chkstop`):
    /// what TAPQ answered when the device was made or at the last bus scan.
    public var config: Bool
    public var chkstop: Bool
    /// The AP queue driver the device is bound to, nil when unbound.
    public var driver: QueueDriver?
    /// `driver_override` (ap_queue.c), nil when unset.
    public var driverOverride: String?
    /// dev_state OPERATING (true) or UNINITIATED: decides whether
    /// `request_count` prints a number or `-`.
    public var initialized: Bool
    /// The AP queue state machine is in RESET_START/RESET_WAIT: a queue that
    /// was never initialised, or was reset while UNINITIATED (`reset_show`).
    public var resetPending: Bool
    public var requestCount: UInt64
    /// zcrypt queue online switch.
    public var zcryptOnline: Bool
    /// Response code of the last reset (`_queue_passable` wants 0, 3 or 4).
    public var resetResponseCode: Int
    /// CCA master key verification patterns (`mkvps`), when the topology gives them.
    public var masterKeys: MasterKeyState?
    public var load: Int
    /// SE association index of an EP11 queue (`aq->assoc_idx`), nil when
    /// invalid (`ASSOC_IDX_INVALID`).
    public var associationIndex: Int?

    public init(apqn: APQN, hardwareInfo: HardwareInfo) {
        self.apqn = apqn
        self.hardwareInfo = hardwareInfo
        configuredOverride = true
        checkstopped = false
        config = true
        chkstop = false
        driver = nil
        driverOverride = nil
        initialized = false
        resetPending = true
        requestCount = 0
        zcryptOnline = true
        resetResponseCode = 0
        masterKeys = nil
        load = 0
        associationIndex = nil
    }
}

extension Queue {
    /// What `ap_device_probe` does to the device itself when `driver`
    /// takes it (the caller records the binding and runs vfio_ap's probe).
    mutating func bind(to driver: QueueDriver) {
        self.driver = driver
        if driver == .cex4queue {
            // zcrypt_cex4_queue_probe calls ap_queue_init_state() for every
            // queue it binds (dev_state OPERATING, or ERROR once the reset
            // meets a deconfigured or checkstopped queue: either way past
            // UNINITIATED); vfio_ap leaves the device as it found it.
            initialized = true
            resetPending = !(config && !chkstop)
            // The probe registers a new zcrypt queue, online by default
            // (zcrypt_cex4_queue_probe, zcrypt_queue_register): what an
            // earlier one was is gone with it.
            zcryptOnline = true
        }
        resetResponseCode = 0
    }

    /// The master keys of a domain nobody has loaded keys into: a CCA or
    /// EP11 queue's registers, nil for an accelerator.
    public static func unloadedMasterKeys(for hw: HardwareInfo) -> MasterKeyState? {
        hw.cca ? .unloadedCCA : (hw.ep11 ? .unloadedEP11 : nil)
    }
}

/// The AP drivers a queue or card device can be bound to.
public enum QueueDriver: String, Sendable, CaseIterable, Codable {
    case cex4queue
    case vfioAP = "vfio_ap"

    /// `AP_DRIVER_FLAG_DEFAULT`: the zcrypt drivers own the APQNs reserved by
    /// apmask/aqmask; vfio_ap owns the others.
    public var isDefault: Bool { self == .cex4queue }
}

/// Master key registers shown by `mkvps` (zcrypt_cex4.c `cca_mkvps_show`,
/// `ep11_mkvps_show`), keyed "AES NEW", "APKA CUR", "ASYM OLD", "WK CUR", ...
public struct MasterKeyState: Sendable, Hashable, Codable {
    public struct Register: Sendable, Hashable, Codable {
        /// `empty`/`partial`/`full` (CCA NEW), `invalid`/`valid` (CUR, OLD,
        /// WK CUR), `empty`/`uncommitted`/`committed` (WK NEW).
        public var state: String
        public var verificationPattern: [UInt8]
        public init(state: String, verificationPattern: [UInt8]) {
            self.state = state
            self.verificationPattern = verificationPattern
        }
    }

    public var registers: [String: Register]
    public init(registers: [String: Register]) { self.registers = registers }

    public static let keyTypes = ["AES", "APKA", "ASYM", "WK"]

    /// The states each register may take.
    public static func states(forKey key: String, register: String) -> [String] {
        switch (key, register) {
        case ("WK", "NEW"): return ["empty", "uncommitted", "committed"]
        case ("WK", _): return ["invalid", "valid"]
        case (_, "NEW"): return ["empty", "partial", "full"]
        default: return ["invalid", "valid"]
        }
    }

    /// A CCA card with no master keys loaded.
    public static let unloadedCCA = MasterKeyState(registers: Dictionary(uniqueKeysWithValues:
        ["AES", "APKA", "ASYM"].flatMap { k in
            ["NEW", "CUR", "OLD"].map { r in
                ("\(k) \(r)", Register(state: r == "NEW" ? "empty" : "invalid",
                                       verificationPattern: Array(repeating: 0, count: k == "ASYM" ? 16 : 8)))
            }
        }))

    /// An EP11 domain with no wrapping key.
    public static let unloadedEP11 = MasterKeyState(registers: [
        "WK CUR": Register(state: "invalid", verificationPattern: []),
        "WK NEW": Register(state: "empty", verificationPattern: []),
    ])
}
