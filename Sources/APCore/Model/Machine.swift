/// Machine-wide facts: the QCI (`struct ap_config_info`) facility flags and
/// limits, and the AP bus settings that are not per device.
public struct Machine: Sendable, Equatable, Codable {
    /// Whether PQAP(QCI) is available; without it the `ap_*_mask` files read
    /// `not supported` and `features` reads `-`.
    public var qciAvailable = true
    public var apsc = true
    public var apxa = true
    public var qact = true
    public var rc8a = true
    public var apsb = false
    /// QCI `na` / `nd`: the highest adapter and domain IDs with APXA.
    public var maxAdapterIDField = 255
    public var maxDomainIDField = 255
    /// The host itself runs as a Secure Execution guest (`ap_is_se_guest()`).
    public var secureExecutionGuest = false
    /// AP adapter interrupts in use (`ap_interrupts`); the poll thread then
    /// cannot be started.
    public var interrupts = true

    public init() {}

    /// Whether the AP bus trusts the QCI info: since v6.10 a QCI whose flags
    /// word is 0 counts as static info, "QCI not supported" (ap_bus.c
    /// `ap_qci_info_is_available`): the masks read `not supported`,
    /// `features` reads `-`, and adapters 0-63 / domains 0-15 count as configured.
    public var qciInfoValid: Bool { qciAvailable && (apsc || apxa || qact || rc8a || apsb) }

    /// `ap_max_adapter_id`: QCI `na` with APXA (when non-zero), else 63.
    public var maxAdapterID: Int { qciInfoValid && apxa && maxAdapterIDField != 0 ? maxAdapterIDField : 63 }
    /// `ap_max_domain_id`: QCI `nd` with APXA (when non-zero), else 15.
    public var maxDomainID: Int { qciInfoValid && apxa && maxDomainIDField != 0 ? maxDomainIDField : 15 }

    /// `/sys/bus/ap/features`: the QCI flags in this order (`features_show`).
    public var busFeatures: [String] {
        var f: [String] = []
        if apsc { f.append("APSC") }
        if apxa { f.append("APXA") }
        if qact { f.append("QACT") }
        if rc8a { f.append("RC8A") }
        if apsb { f.append("APSB") }
        return f
    }
}

/// AP bus settings changed through /sys/bus/ap.
public struct BusSettings: Sendable, Equatable, Codable {
    public var apmask = APMask.allOnes
    public var aqmask = APMask.allOnes
    /// `ap_domain`: the default domain, -1 if none.
    public var defaultDomain = -1
    public var configTime = 30
    public var pollThread = false
    public var pollTimeout: UInt64 = 250_000
    public var scans: UInt64 = 1
    /// When the rescan timer (`ap_scan_bus_timer`) fires next, in
    /// nanoseconds since boot: `config_time` after the last scan.
    public var nextScanAt: UInt64 = 30 * 1_000_000_000
    public var bindingsCompleteCount: UInt64 = 1
    /// Whether every queue device was bound after the last binding change
    /// (so `ap_check_bindings_complete` counts only a new completion).
    public var bindingsWereComplete = true
    /// `drivers_autoprobe` of the ap, matrix and mdev buses.
    public var driversAutoprobe: [String: Bool] = ["ap": true, "matrix": true, "mdev": true]

    public init() {}
}
