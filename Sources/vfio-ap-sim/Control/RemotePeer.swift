import APCore
import Foundation
import SystemPackage
import VFIOMigration

/// A migration peer reached through a host's control socket.
final class RemotePeer: MigrationPeer {
    let hostName: String
    let client: ControlClient

    init(hostName: String, client: ControlClient) {
        self.hostName = hostName
        self.client = client
    }

    /// Sends a request; a kernel refusal comes back as its Errno, a host
    /// that is gone as `PeerUnreachable`.
    func send(_ words: String...) throws -> String {
        try request(words.filter { !$0.isEmpty }.joined(separator: " "))
    }

    private func request(_ line: String) throws -> String {
        do {
            return try client.send(line)
        } catch let e as UserError where e.description.hasPrefix("errno=") {
            let number = e.description.dropFirst(6).prefix { $0.isNumber }
            throw Errno(rawValue: Int32(number) ?? Errno.ioError.rawValue)
        } catch let e as ControlClient.HostUnreachable {
            throw PeerUnreachable(self, reason: "host '\(hostName)': \(e.description)")
        }
    }

    func guestInfo(_ name: String) throws -> GuestInfo? {
        guard let reply = try? send("guest", "info", name) else { return nil }
        let w = reply.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard w.count == 3 else { return nil }
        return GuestInfo(mdev: w[0] == "-" ? nil : w[0], migration: MigrationSetting(rawValue: w[1]) ?? .auto,
                         paused: w[2] == "paused")
    }
    func mdevExists(_ uuid: String) throws -> Bool { try send("mdev", "exists", uuid) == "yes\n" }
    func migrationFlags(_ uuid: String) throws -> MigrationFlags {
        MigrationFlags(rawValue: UInt64(try send("mdev", "flags", uuid).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }
    func setState(_ uuid: String, _ state: MigrationState) throws { _ = try send("mdev", "set-state", uuid, "\(state)") }
    func dataSize(_ uuid: String) throws -> UInt64 {
        UInt64(try send("mdev", "data-size", uuid).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
    func read(_ uuid: String, count: Int) throws -> [UInt8] { try read(uuid, count: count, offset: nil) }
    func write(_ uuid: String, _ bytes: [UInt8]) throws -> Int { try write(uuid, bytes, offset: nil) }

    /// With an offset the read is a pread (the stream answers ESPIPE).
    func read(_ uuid: String, count: Int, offset: Int?) throws -> [UInt8] {
        let reply = try send("mdev", "read", uuid, "\(count)", offset.map(String.init) ?? "")
        return Hex.decode(trimmingASCIIWhitespace: reply) ?? []
    }

    /// The most bytes one `mdev write` request carries (QEMU's writes are
    /// 32 KiB); ControlServer.maximumRequest has room for its hex.
    static let maximumWrite = 64 * 1024

    /// With an offset the write is a pwrite (the stream answers ESPIPE).
    /// A longer write goes as several requests, in order, so that any
    /// `--chunk` fits a request line: the resume stream takes any split. A
    /// short write ends it with what was taken, as write(2) does.
    func write(_ uuid: String, _ bytes: [UInt8], offset: Int?) throws -> Int {
        var written = 0
        repeat {
            let piece = bytes[written..<min(bytes.count, written + Self.maximumWrite)]
            let reply = try send("mdev", "write", uuid, Hex.encode(Array(piece)),
                                 offset.map { String($0 + written) } ?? "")
            let taken = Int(reply.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            written += taken
            if taken < piece.count { break }
        } while written < bytes.count
        return written
    }
    func closeFile(_ uuid: String) throws { _ = try send("mdev", "close-fd", uuid) }
    func reset(_ uuid: String) throws { _ = try send("mdev", "reset", uuid) }
    func startGuest(_ name: String, mdev: String, options: GuestManager.StartOptions) throws {
        var words = ["guest", "start", name, mdev, "--migration", options.migration.rawValue]
        if options.paused { words.append("--paused") }
        if options.ignoreDeviceRequests { words.append("--ignore-requests") }
        do {
            _ = try client.send(words.joined(separator: " "))
        } catch let e as ControlClient.HostUnreachable {
            throw PeerUnreachable(self, reason: "host '\(hostName)': \(e.description)")
        }
    }
    func stopGuest(_ name: String) throws { _ = try send("guest", "stop", name) }
    func setPaused(_ name: String, _ paused: Bool) throws { _ = try send("guest", paused ? "pause" : "resume", name) }
    func appendLog(_ name: String, _ line: String) throws { _ = try send("guest", "log-append", name, line) }
    func kernelLog() throws -> [String] { try send("dmesg").split(separator: "\n").map(String.init) }
}
