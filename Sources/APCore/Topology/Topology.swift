/// A host description: what the machine, its adapters and domains are, and
/// what the user had already set up. Topologies are data (YAML or JSON).
public struct Topology: Sendable, Equatable, Codable {
    public var name: String
    public var machine = Machine()
    public var vfioFeatures = ["guest_matrix", "hotplug", "ap_config", "migratable"]
    public var adapters: [AdapterSpec] = []
    public var usageDomains: [Int] = []
    public var controlDomains: [Int] = []
    public var queueOverrides: [QueueSpec] = []
    public var apmask: APMask = .allOnes
    public var aqmask: APMask = .allOnes
    /// `ap_domain`; -1 is "no default domain" (a recorded host may have none).
    public var defaultDomain: Int?
    /// `config_time`, `poll_timeout`, `poll_thread` when not the defaults.
    public var configTime: Int?
    public var pollTimeout: UInt64?
    public var pollThread: Bool?
    /// `bindings_complete_count` of a recorded host (a boot gives 1).
    public var bindingsCompleteCount: UInt64?
    public var mdevs: [MdevSpec] = []

    public init(name: String) { self.name = name }

    public struct AdapterSpec: Sendable, Equatable, Codable {
        public var id: Int
        public var hardwareInfo: HardwareInfo
        public var configured = true
        public var checkstopped = false
        /// In the partition's AP configuration (QCI APM) at boot; an adapter
        /// outside it is in the machine, for `hw adapter add` to bring in.
        public var inConfiguration = true
        public var serialNumber = ""
        public var ep11APIOrdinal: Int?
        public var ep11FirmwareMajor: Int?
        public var ep11FirmwareMinor: Int?
        public var ep11OperationModes: [String] = []
        public var masterKeys: MasterKeyState?
        /// zcrypt's own switch of the card (`online` write); false takes its
        /// cex4queue queues offline too, as `online_store` does. Optional so
        /// that a topology without it keeps its state-file digest.
        public var online: Bool?
        public init(id: Int, hardwareInfo: HardwareInfo) {
            self.id = id
            self.hardwareInfo = hardwareInfo
        }
    }

    public struct QueueSpec: Sendable, Equatable, Codable {
        public var apqn: APQN
        public var hardwareInfo: HardwareInfo?
        public var bindState: Int?
        public var configured: Bool?
        public var checkstopped: Bool?
        public var driverOverride: String?
        public var masterKeys: MasterKeyState?
        /// zcrypt's switch of the queue (`online` write).
        public var online: Bool?
        /// `dev_state` OPERATING (true) or UNINITIATED (false): a queue
        /// unbound since boot (`ap_queue_remove`) reads `request_count` `-`.
        public var initialized: Bool?
        /// The state machine is in RESET_START/RESET_WAIT (`reset` reads
        /// `Reset in progress.`).
        public var resetPending: Bool?
        /// SE association index (`aq->assoc_idx`) of an EP11 queue
        /// (`se_associate` reads `associated N`).
        public var associationIndex: Int?
        public init(apqn: APQN) { self.apqn = apqn }
    }

    public struct MdevSpec: Sendable, Equatable, Codable {
        public var uuid: String
        public var adapters: [Int] = []
        public var domains: [Int] = []
        public var controlDomains: [Int] = []
        /// `iommu_group` and `vfio-dev/vfio<N>`: the lowest free ids at
        /// create when not given (a recorded host may have gaps).
        public var iommuGroup: Int?
        public var vfioDeviceIndex: Int?
        public init(uuid: String) { self.uuid = uuid }
    }
}
