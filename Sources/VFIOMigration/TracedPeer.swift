/// The last request a migration made, and to which host: when a request
/// fails with an error that is neither a kernel errno nor a lost peer,
/// the cancelled migration's message names the step that failed.
final class StepRecord {
    var host = ""
    var operation = ""
    /// Whether the failing step was the destination's (libvirt's job
    /// 'migration in') rather than the source's ('migration out').
    var onDestination = false
}

/// A peer that notes each request in a `StepRecord`, then passes it on.
/// Errors come back untouched, so `PeerUnreachable` still names the inner peer.
final class TracedPeer: MigrationPeer {
    let inner: MigrationPeer
    let record: StepRecord
    let isDestination: Bool

    init(_ inner: MigrationPeer, _ record: StepRecord, isDestination: Bool) {
        self.inner = inner
        self.record = record
        self.isDestination = isDestination
    }

    private func note(_ operation: String) {
        record.host = inner.hostName
        record.operation = operation
        record.onDestination = isDestination
    }

    var hostName: String { inner.hostName }
    func guestInfo(_ name: String) throws -> GuestInfo? { note("guest info"); return try inner.guestInfo(name) }
    func mdevExists(_ uuid: String) throws -> Bool { note("mdev lookup"); return try inner.mdevExists(uuid) }
    func migrationFlags(_ uuid: String) throws -> MigrationFlags { note("migration flags"); return try inner.migrationFlags(uuid) }
    func setState(_ uuid: String, _ state: MigrationState) throws { note("set state \(state)"); try inner.setState(uuid, state) }
    func dataSize(_ uuid: String) throws -> UInt64 { note("data size"); return try inner.dataSize(uuid) }
    func read(_ uuid: String, count: Int) throws -> [UInt8] { note("read"); return try inner.read(uuid, count: count) }
    func write(_ uuid: String, _ bytes: [UInt8]) throws -> Int { note("write"); return try inner.write(uuid, bytes) }
    func closeFile(_ uuid: String) throws { note("close data fd"); try inner.closeFile(uuid) }
    func reset(_ uuid: String) throws { note("reset"); try inner.reset(uuid) }
    func startGuest(_ name: String, mdev: String, options: GuestManager.StartOptions) throws {
        note("guest start")
        try inner.startGuest(name, mdev: mdev, options: options)
    }
    func stopGuest(_ name: String) throws { note("guest stop"); try inner.stopGuest(name) }
    func setPaused(_ name: String, _ paused: Bool) throws { note(paused ? "guest pause" : "guest resume"); try inner.setPaused(name, paused) }
    func appendLog(_ name: String, _ line: String) throws { note("QEMU log"); try inner.appendLog(name, line) }
    func kernelLog() throws -> [String] { note("kernel log"); return try inner.kernelLog() }
}
