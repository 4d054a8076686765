/// One uevent as `kobject_uevent_env` builds it: ACTION, DEVPATH and
/// SUBSYSTEM, then the caller's and `dev_uevent`'s variables, then SEQNUM.
public struct UeventRecord: Sendable, Equatable {
    public var action: String
    public var devpath: String
    public var subsystem: String
    /// `KEY=value` strings after SUBSYSTEM, in the kernel's order.
    public var environment: [String]
    public var seqnum: UInt64

    public init(action: String, devpath: String, subsystem: String, environment: [String], seqnum: UInt64) {
        self.action = action
        self.devpath = devpath
        self.subsystem = subsystem
        self.environment = environment
        self.seqnum = seqnum
    }

    /// Every variable in order, as `udevadm monitor --property` prints them.
    public var properties: [String] {
        ["ACTION=\(action)", "DEVPATH=\(devpath)", "SUBSYSTEM=\(subsystem)"] + environment + ["SEQNUM=\(seqnum)"]
    }

    /// The value of DEVTYPE (the libudev header hashes it for filters).
    public var devtype: String? {
        environment.first { $0.hasPrefix("DEVTYPE=") }.map { String($0.dropFirst("DEVTYPE=".count)) }
    }
}
