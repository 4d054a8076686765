/// A simulated KVM guest (a QEMU process) that may hold one vfio_ap mdev.
public struct Guest: Sendable, Equatable, Codable {
    public var name: String
    /// The mdev the guest's vfio-ap device has open (VFIO open_device).
    public var mdev: String?
    /// A guest that does not honour device requests: `echo 1 > remove`
    /// then blocks until the guest stops.
    public var ignoresDeviceRequests: Bool
    /// QEMU's `enable-migration` of the vfio-ap device.
    public var migration: MigrationSetting
    /// Paused (STOP) rather than running.
    public var paused: Bool
    /// The AP masks KVM gives the guest (its CRYCB): the mdev's guest
    /// matrix while attached, cleared on a device request or close.
    public var crycb: APMatrix
    /// What the guest's QEMU wrote to its log.
    public var qemuLog: [String]

    public init(name: String, ignoresDeviceRequests: Bool = false, migration: MigrationSetting = .auto) {
        self.name = name
        mdev = nil
        self.ignoresDeviceRequests = ignoresDeviceRequests
        self.migration = migration
        paused = false
        crycb = APMatrix()
        qemuLog = []
    }
}

/// QEMU's vfio `enable-migration` property (ON_OFF_AUTO).
public enum MigrationSetting: String, Sendable, CaseIterable, Codable {
    case on, off, auto
}
