/// What the machine answers, as opposed to what the kernel last saw: the AP
/// configuration PQAP(QCI) returns now, and the adapters SCLP has
/// deconfigured or that are in checkstop (what TAPQ answers for their
/// queues). An HMC change, an SCLP (de)configure or a checkstop changes
/// this; the kernel's view (`HostState.hostConfig`, the card and queue
/// devices and their `config`/`chkstop`) catches up at the next AP bus scan
/// (ap_bus.c `ap_scan_bus`). The machine's adapters themselves are
/// `HostState.adapters`, whether in the configuration or not.
public struct APHardware: Sendable, Equatable, Codable {
    /// The masks QCI returns now (APM, AQM, ADM).
    public var config: APMatrix
    /// Adapters whose queues answer TAPQ with AP_RESPONSE_DECONFIGURED
    /// (SCLP standby).
    public var deconfigured: Set<Int> = []
    /// Adapters whose queues answer TAPQ with AP_RESPONSE_CHECKSTOPPED.
    public var checkstopped: Set<Int> = []
    /// The hardware side of queues whose devices are gone (their domain or
    /// adapter left the configuration): TAPQ info, master keys and
    /// per-queue states, which a new device for the APQN starts from.
    public var parkedQueues: [APQN: Queue] = [:]

    public init(config: APMatrix) { self.config = config }
}

/// What PQAP(TAPQ) answers for one APQN: its GR2 hardware info and whether
/// the response code was DECONFIGURED or CHECKSTOPPED (`ap_queue_info`'s
/// `decfg` and `cstop`, one response code, so never both).
public struct TAPQAnswer: Sendable, Equatable {
    public var hardwareInfo: HardwareInfo
    public var deconfigured: Bool
    public var checkstopped: Bool
}
