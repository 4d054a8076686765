import APCore
import SystemPackage

/// The VFIO devices of one host that guests have open, and the device
/// feature ioctls on them (drivers/vfio/vfio_main.c
/// `vfio_ioctl_device_feature_*`). Each open mdev gets its migration driver
/// when the kernel carries the series (`migratable` in the matrix features).
public final class VFIODeviceTable: @unchecked Sendable {
    public let host: S390Host
    /// Guarded by the host lock: only touched inside `host.update`/`host.read`.
    private var drivers: [String: VFIOAPMigration] = [:]
    /// The data file userspace holds per mdev (its `data_fd`), until closed.
    private var userFiles: [String: MigrationFile] = [:]

    public init(host: S390Host) { self.host = host }

    /// Whether this kernel has the migration series.
    public static func kernelSupportsMigration(_ s: HostState) -> Bool { s.vfioFeatures.contains("migratable") }

    // MARK: - open / close (vfio_ap_mdev_open_device / _close_device)

    public func open(_ uuid: String, guest: String) throws {
        try host.update { s in try open(uuid, guest: guest, &s) }
    }

    /// The same inside an update of the host (a guest starting with its mdev is one change).
    func open(_ uuid: String, guest: String, _ s: inout HostState) throws {
        try s.openMdev(uuid, guest: guest)
        // vfio_ap_init_migration_data: state RUNNING, flags STOP_COPY.
        if Self.kernelSupportsMigration(s) { drivers[uuid] = VFIOAPMigration(uuid: uuid) }
    }

    public func close(_ uuid: String) {
        host.update { s in close(uuid, &s) }
    }

    func close(_ uuid: String, _ s: inout HostState) {
        drivers[uuid]?.releaseFiles()
        drivers[uuid] = nil
        userFiles[uuid] = nil
        s.closeMdev(uuid)
    }

    public func isOpen(_ uuid: String) -> Bool {
        host.read { s in s.mdevIndex(uuid: uuid).map { s.mdevs[$0].guest != nil } ?? false }
    }

    // MARK: - persistence

    /// Each open mdev's migration state (`mig_state`). Only with the host
    /// lock held: from an ordered observer (`S390Host.observeInOrder`).
    public func migrationStatesWhileLocked() -> [String: MigrationState] { drivers.mapValues(\.state) }

    /// A host resumed from a state file: every mdev a guest has open gets
    /// its migration driver back (`vfio_ap_init_migration_data` ran when it
    /// was opened), in the state the file kept (RUNNING if it kept none).
    /// The data files do not come back: they were open files of the
    /// process that ended (docs/RELIABILITY.md).
    public func restoreMigrationStates(_ states: [String: MigrationState]) {
        host.read { s in
            guard Self.kernelSupportsMigration(s) else { return }
            for m in s.mdevs where m.guest != nil {
                drivers[m.uuid] = VFIOAPMigration(uuid: m.uuid, state: states[m.uuid] ?? .running)
            }
        }
    }

    // MARK: - device features

    private func driver(_ uuid: String, _ s: HostState) throws -> VFIOAPMigration {
        guard let i = s.mdevIndex(uuid: uuid), s.mdevs[i].guest != nil else { throw Errno.badFileDescriptor }
        // No mig_ops: every migration feature is ENOTTY.
        guard let d = drivers[uuid] else { throw Errno.inappropriateIOCTLForDevice }
        return d
    }

    /// GET `VFIO_DEVICE_FEATURE_MIGRATION`.
    public func migrationFlags(_ uuid: String) throws -> MigrationFlags {
        try host.read { s in try driver(uuid, s).flags }
    }

    /// GET `VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE`.
    public func state(_ uuid: String) throws -> MigrationState {
        try host.read { s in try driver(uuid, s).state }
    }

    /// SET `VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE`: true when a new data file
    /// came back (it becomes the mdev's user file, replacing any older one).
    @discardableResult
    public func setState(_ uuid: String, _ target: MigrationState) throws -> Bool {
        try setState(uuid, rawState: target.rawValue)
    }

    /// The same with the raw `device_state` word: `vfio_ioctl_device_feature_mig_device_state`
    /// answers ENOTTY for a device without migration support before the
    /// driver sees the number.
    @discardableResult
    public func setState(_ uuid: String, rawState: UInt32) throws -> Bool {
        try host.update { s in try setState(uuid, rawState: rawState, &s) }
    }

    /// The same inside an update of the host.
    @discardableResult
    func setState(_ uuid: String, rawState: UInt32, _ s: inout HostState) throws -> Bool {
        let d = try driver(uuid, s)
        // Each arc taken counts, also when a later one fails.
        let before = d.state
        defer { if d.state != before { s.record(.migrationState(uuid)) } }
        guard let file = try d.setState(rawTarget: rawState, &s) else { return false }
        userFiles[uuid] = file
        return true
    }

    /// Whether the open mdev has a migration driver (GET MIGRATION would
    /// answer), inside an update of the host.
    func hasMigrationDriver(_ uuid: String, _ s: HostState) -> Bool { (try? driver(uuid, s)) != nil }

    /// GET `VFIO_DEVICE_FEATURE_MIG_DATA_SIZE`.
    public func dataSize(_ uuid: String) throws -> UInt64 {
        try host.read { s in try driver(uuid, s).dataSize(s) }
    }

    /// `VFIO_DEVICE_RESET`: resets the queues; the v2 driver leaves its
    /// migration state as it is.
    public func reset(_ uuid: String) throws {
        try host.update { s in try reset(uuid, &s) }
    }

    func reset(_ uuid: String, _ s: inout HostState) throws {
        guard let i = s.mdevIndex(uuid: uuid), s.mdevs[i].guest != nil else { throw Errno.badFileDescriptor }
        for q in s.mdevs[i].matrix.apqns where s.queues[q]?.driver == .vfioAP { s.resetQueue(q) }
    }

    // MARK: - the data file

    private func userFile(_ uuid: String) throws -> MigrationFile {
        guard let f = userFiles[uuid] else { throw Errno.badFileDescriptor }
        return f
    }

    /// `ksys_pread64`/`ksys_pwrite64` before the file's own checks: a
    /// negative offset is EINVAL before the fd is looked at, and a
    /// `stream_open` file has no FMODE_PREAD/PWRITE, so any offset is ESPIPE
    /// whatever the file's direction.
    private func checkPositioned(_ offset: Int?, _ uuid: String) throws {
        guard let offset else { return }
        if offset < 0 { throw Errno.invalidArgument }
        _ = try userFile(uuid)
        throw Errno.illegalSeek
    }

    /// read() on the data fd; `offset` makes it a pread.
    public func read(_ uuid: String, count: Int, offset: Int? = nil) throws -> [UInt8] {
        try host.update { _ in
            try checkPositioned(offset, uuid)
            return try userFile(uuid).read(count)
        }
    }

    /// write() on the data fd; `offset` makes it a pwrite.
    public func write(_ uuid: String, _ bytes: [UInt8], offset: Int? = nil) throws -> Int {
        try host.update { s in
            try checkPositioned(offset, uuid)
            let f = try userFile(uuid)
            guard let d = drivers[uuid] else { throw Errno.noDevice }
            return try d.write(f, bytes, &s)
        }
    }

    /// close() of the data fd.
    public func closeFile(_ uuid: String) {
        host.update { _ in userFiles[uuid] = nil }
    }

    public func hasFile(_ uuid: String) -> Bool { host.read { _ in userFiles[uuid] != nil } }
}
