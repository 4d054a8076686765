import APCore
import Foundation
import SystemPackage

/// The simulated QEMU/KVM guests of one host: starting a guest opens its
/// mdev (VFIO open), stopping it closes it; a device request on the mdev is
/// honoured by unplugging the device, as QEMU's vfio-ap request handler does,
/// unless the guest was started to ignore requests.
public final class GuestManager: @unchecked Sendable {
    public let host: S390Host
    public let devices: VFIODeviceTable

    public init(host: S390Host) {
        self.host = host
        devices = VFIODeviceTable(host: host)
        host.deviceRequestHandler = { [weak self] uuid, _ in self?.deviceRequested(uuid) }
    }

    public struct StartOptions: Sendable {
        public var ignoreDeviceRequests = false
        public var migration: MigrationSetting = .auto
        public var paused = false
        public init() {}
    }

    public enum GuestError: Error, CustomStringConvertible, Equatable {
        case noSuchMdev(String)
        case noSuchGuest(String)
        case guestExists(String)
        case open(String, Errno)
        case migrationRequiredButUnsupported(String)

        public var description: String {
            switch self {
            case .noSuchMdev(let u): return "mediated device '\(u)' not found"
            case .noSuchGuest(let g): return "no guest named '\(g)'"
            case .guestExists(let g): return "a guest named '\(g)' is already running"
            case .open(let u, let e): return "vfio \(u): failed to open the device: \(e.kernelDescription)"
            case .migrationRequiredButUnsupported(let u):
                // QEMU vfio_migration_realize: ENOTTY from the migration
                // feature query gets its own message (the "couldn't be
                // initialized, err: %d" one is for other errors), and with
                // enable-migration=on vfio_block_migration fails realize with
                // it; vfio_ap_realize prepends VFIO_MSG_PREFIX ("vfio %s: ").
                return "vfio \(u): \(u): VFIO migration is not supported in kernel"
            }
        }
    }

    /// Starts a guest with one mdev: the VFIO open of that mdev. A second
    /// mdev for the same guest is refused EPERM (one KVM, one matrix mdev).
    /// One update of the host: no one (a state file included) sees a guest
    /// that started without its mdev.
    public func start(_ name: String, mdevs: [String], options: StartOptions = StartOptions()) throws {
        try host.update { s in
            if s.guests[name] != nil { throw GuestError.guestExists(name) }
            for u in mdevs where s.mdevIndex(uuid: u) == nil { throw GuestError.noSuchMdev(u) }
            var g = Guest(name: name, ignoresDeviceRequests: options.ignoreDeviceRequests, migration: options.migration)
            g.paused = options.paused
            try s.addGuest(g)
            // QEMU with enable-migration=on fails to realize the device when
            // the kernel cannot migrate it.
            if options.migration == .on, let u = mdevs.first, !VFIODeviceTable.kernelSupportsMigration(s) {
                s.removeGuest(name)
                throw GuestError.migrationRequiredButUnsupported(u)
            }
            for u in mdevs {
                do {
                    try devices.open(u, guest: name, &s)
                } catch let e as Errno {
                    s.removeGuest(name)
                    for other in mdevs where other != u { devices.close(other, &s) }
                    throw GuestError.open(u, e)
                }
            }
        }
    }

    /// Stops a guest: its QEMU exits and the mdev is closed.
    public func stop(_ name: String) throws {
        try host.update { s in
            guard let g = s.guests[name] else { throw GuestError.noSuchGuest(name) }
            if let uuid = g.mdev { devices.close(uuid, &s) }
            s.removeGuest(name)
        }
    }

    /// QEMU's vfio-ap request notifier: unplug the device (device_del), which
    /// closes it; the guest keeps running without it.
    func deviceRequested(_ uuid: String) {
        let honour = host.read { s -> Bool in
            guard let i = s.mdevIndex(uuid: uuid), let g = s.mdevs[i].guest else { return false }
            return !(s.guests[g]?.ignoresDeviceRequests ?? true)
        }
        if honour { devices.close(uuid) }
    }

    /// Pauses or resumes the VM; QEMU sets its vfio devices to STOP or
    /// RUNNING on every change (`vfio_vmstate_change`).
    /// One update of the host: the device state and the run state change together.
    public func setPaused(_ name: String, _ paused: Bool) throws {
        try host.update { s in
            guard let g = s.guests[name] else { throw GuestError.noSuchGuest(name) }
            guard g.paused != paused else { return }
            // With enable-migration=off vfio_migration_realize stops at the
            // blocker: no run-state handler, no SETs.
            if let u = g.mdev, g.migration != .off, devices.hasMigrationDriver(u, s) {
                let target: MigrationState = paused ? .stop : .running
                do { try devices.setState(u, rawState: target.rawValue, &s) } catch {
                    // vfio_migration_set_state_or_reset: log, reset, assume RUNNING.
                    let reason = (error as? Errno)?.kernelDescription ?? "\(error)"
                    s.appendGuestLog(name, "qemu-system-s390x: \(u): Failed setting device state to \(target), err: \(reason). Recover state is ERROR. Resetting device")
                    try? devices.reset(u, &s)
                }
            }
            s.setGuestPaused(name, paused)
        }
    }

    public func appendLog(_ name: String, _ line: String) {
        host.update { $0.appendGuestLog(name, line) }
    }

    public func guest(_ name: String) throws -> Guest {
        try host.read { s in
            guard let g = s.guests[name] else { throw GuestError.noSuchGuest(name) }
            return g
        }
    }

    public var guests: [Guest] { host.read { $0.guests.values.sorted { $0.name < $1.name } } }

    /// `guest show`: the guest's masks and, lszcrypt-like, the AP devices it
    /// sees with their type and mode.
    public func describe(_ name: String) throws -> String {
        try host.read { s in
            guard let g = s.guests[name] else { throw GuestError.noSuchGuest(name) }
            var out = "guest: \(g.name)\n"
            out += "state: \(g.paused ? "paused" : "running")\n"
            out += "mdev: \(g.mdev ?? "-")\n"
            out += "APM: \(KernelFormat.mask(g.crycb.adapters))\n"
            out += "AQM: \(KernelFormat.mask(g.crycb.domains))\n"
            out += "ADM: \(KernelFormat.mask(g.crycb.controlDomains))\n"
            out += "CARD.DOMAIN TYPE  MODE        STATUS\n"
            out += "------------------------------------------\n"
            for a in g.crycb.adapters.ids {
                let doms = g.crycb.domains.ids
                let first = doms.first.flatMap { s.queues[APQN(card: a, domain: $0)]?.hardwareInfo }
                    ?? s.adapters[a]?.hardwareInfo
                out += Self.row(KernelFormat.adapter(a), first, Self.status(doms.first.flatMap { s.tapq(APQN(card: a, domain: $0)) }), s)
                for d in doms {
                    let q = APQN(card: a, domain: d)
                    out += Self.row(q.description, s.queues[q]?.hardwareInfo ?? s.adapters[a]?.hardwareInfo, Self.status(s.tapq(q)), s)
                }
            }
            return out
        }
    }

    /// lszcrypt's STATUS inside the guest: what the machine answers the
    /// guest's TAPQ, whatever the host kernel has seen of it yet.
    static func status(_ t: TAPQAnswer?) -> String {
        guard let t else { return "-" }
        return t.deconfigured ? "deconfig" : (t.checkstopped ? "checkstop" : "online")
    }

    static func row(_ id: String, _ hw: HardwareInfo?, _ status: String, _ s: HostState) -> String {
        let pad = { (t: String, n: Int) in t + String(repeating: " ", count: max(1, n - t.count)) }
        guard let hw else { return pad(id, 12) + pad("-", 6) + pad("-", 12) + status + "\n" }
        let type = APDeviceType.compatible(rawType: hw.apType, qact: s.machine.qact)
        let name = "CEX\(APDeviceType.generation(type))\(hw.mode?.typeSuffix ?? "")"
        let mode: String
        switch hw.mode {
        case .cca?: mode = "CCA-Coproc"
        case .accelerator?: mode = "Accelerator"
        case .ep11?: mode = "EP11-Coproc"
        case nil: mode = "-"
        }
        return pad(id, 12) + pad(name, 6) + pad(mode, 12) + status + "\n"
    }
}
