import VFIOMigration

/// A `LocalPeer` with a hook: every call is named (`setState RUNNING`,
/// `write`, ...) and given to `before(_:)` first, where a test's peer may
/// make it fail (a host refusing or vanishing at one step of a migration).
class HookedPeer: MigrationPeer {
    let inner: LocalPeer

    init(_ inner: LocalPeer) { self.inner = inner }

    /// Throws to make the call named `operation` fail; by default nothing.
    func before(_ operation: String) throws {}

    private func call<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try before(name)
        return try body()
    }

    var hostName: String { inner.hostName }
    func guestInfo(_ name: String) throws -> GuestInfo? { try call("guestInfo") { try inner.guestInfo(name) } }
    func mdevExists(_ uuid: String) throws -> Bool { try call("mdevExists") { try inner.mdevExists(uuid) } }
    func migrationFlags(_ uuid: String) throws -> MigrationFlags { try call("migrationFlags") { try inner.migrationFlags(uuid) } }
    func setState(_ uuid: String, _ state: MigrationState) throws { try call("setState \(state)") { try inner.setState(uuid, state) } }
    func dataSize(_ uuid: String) throws -> UInt64 { try call("dataSize") { try inner.dataSize(uuid) } }
    func read(_ uuid: String, count: Int) throws -> [UInt8] { try call("read") { try inner.read(uuid, count: count) } }
    func write(_ uuid: String, _ bytes: [UInt8]) throws -> Int { try call("write") { try inner.write(uuid, bytes) } }
    func closeFile(_ uuid: String) throws { try call("closeFile") { try inner.closeFile(uuid) } }
    func reset(_ uuid: String) throws { try call("reset") { try inner.reset(uuid) } }
    func startGuest(_ name: String, mdev: String, options: GuestManager.StartOptions) throws {
        try call("startGuest") { try inner.startGuest(name, mdev: mdev, options: options) }
    }
    func stopGuest(_ name: String) throws { try call("stopGuest") { try inner.stopGuest(name) } }
    func setPaused(_ name: String, _ paused: Bool) throws { try call("setPaused \(paused)") { try inner.setPaused(name, paused) } }
    func appendLog(_ name: String, _ line: String) throws { try call("appendLog") { try inner.appendLog(name, line) } }
    func kernelLog() throws -> [String] { try call("kernelLog") { try inner.kernelLog() } }
}
