import APCore
import SystemPackage

/// One side of a live migration as libvirt and QEMU see it: a host with
/// guests and the VFIO device features of their mdevs. Kernel refusals come
/// back as `Errno`; a peer that cannot be reached throws `PeerUnreachable`.
public protocol MigrationPeer: AnyObject {
    var hostName: String { get }
    /// The guest's mdev, migration setting and run state, or nil if there is no such guest.
    func guestInfo(_ name: String) throws -> GuestInfo?
    func mdevExists(_ uuid: String) throws -> Bool
    func migrationFlags(_ uuid: String) throws -> MigrationFlags
    func setState(_ uuid: String, _ state: MigrationState) throws
    func dataSize(_ uuid: String) throws -> UInt64
    func read(_ uuid: String, count: Int) throws -> [UInt8]
    func write(_ uuid: String, _ bytes: [UInt8]) throws -> Int
    func closeFile(_ uuid: String) throws
    func reset(_ uuid: String) throws
    func startGuest(_ name: String, mdev: String, options: GuestManager.StartOptions) throws
    func stopGuest(_ name: String) throws
    func setPaused(_ name: String, _ paused: Bool) throws
    func appendLog(_ name: String, _ line: String) throws
    func kernelLog() throws -> [String]
}

/// A peer that stopped answering mid-migration: its host is gone (killed,
/// crashed). Not a kernel refusal: the other side recovers on its own.
public struct PeerUnreachable: Error, CustomStringConvertible {
    /// Which peer object failed (`ObjectIdentifier(peer)`).
    public let peer: ObjectIdentifier
    public let reason: String

    public init(_ peer: MigrationPeer, reason: String) {
        self.peer = ObjectIdentifier(peer)
        self.reason = reason
    }

    public var description: String { reason }
}

public struct GuestInfo: Equatable, Sendable {
    public var mdev: String?
    public var migration: MigrationSetting
    public var paused: Bool
    public init(mdev: String?, migration: MigrationSetting, paused: Bool) {
        self.mdev = mdev
        self.migration = migration
        self.paused = paused
    }
}

/// A peer in this process.
public final class LocalPeer: MigrationPeer {
    public let guests: GuestManager
    public init(_ guests: GuestManager) { self.guests = guests }

    public var hostName: String { guests.host.name }
    public func guestInfo(_ name: String) throws -> GuestInfo? {
        guard let g = try? guests.guest(name) else { return nil }
        return GuestInfo(mdev: g.mdev, migration: g.migration, paused: g.paused)
    }
    public func mdevExists(_ uuid: String) throws -> Bool { guests.host.read { $0.mdevIndex(uuid: uuid) != nil } }
    public func migrationFlags(_ uuid: String) throws -> MigrationFlags { try guests.devices.migrationFlags(uuid) }
    public func setState(_ uuid: String, _ state: MigrationState) throws { try guests.devices.setState(uuid, state) }
    public func dataSize(_ uuid: String) throws -> UInt64 { try guests.devices.dataSize(uuid) }
    public func read(_ uuid: String, count: Int) throws -> [UInt8] { try guests.devices.read(uuid, count: count) }
    public func write(_ uuid: String, _ bytes: [UInt8]) throws -> Int { try guests.devices.write(uuid, bytes) }
    public func closeFile(_ uuid: String) throws { guests.devices.closeFile(uuid) }
    public func reset(_ uuid: String) throws { try guests.devices.reset(uuid) }
    public func startGuest(_ name: String, mdev: String, options: GuestManager.StartOptions) throws {
        try guests.start(name, mdevs: [mdev], options: options)
    }
    public func stopGuest(_ name: String) throws { try guests.stop(name) }
    public func setPaused(_ name: String, _ paused: Bool) throws { try guests.setPaused(name, paused) }
    public func appendLog(_ name: String, _ line: String) throws { guests.appendLog(name, line) }
    public func kernelLog() throws -> [String] { guests.host.read { $0.log.entries.map { KernelLog.render($0) } } }
}
