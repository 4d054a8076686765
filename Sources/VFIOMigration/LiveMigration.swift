import APCore
import SystemPackage

/// A live migration of a running guest between two hosts, driven the way
/// libvirt (`qemuMigrationSrcIsAllowed`, `virMediatedDeviceNew`) and QEMU
/// (hw/vfio/migration.c: save setup, switchover, `vfio_save_complete_precopy`,
/// `vfio_load_state`) drive the VFIO migration protocol of a STOP_COPY-only device.
public struct LiveMigration {
    public let source: MigrationPeer
    public let destination: MigrationPeer
    public let guest: String
    /// QEMU copies the incoming stream to the data fd from its 32 KiB buffer.
    public var chunkSize = 32 * 1024
    /// Shown in the destination QEMU's "terminating on signal 15" line.
    public var libvirtPID: Int32 = 1196

    public init(source: MigrationPeer, destination: MigrationPeer, guest: String) {
        self.source = source
        self.destination = destination
        self.guest = guest
    }

    /// What each party printed, as the vfio-ap.rst failure table lists them.
    public struct Outcome: Equatable {
        public var succeeded = false
        /// virsh's console line (`error: ...`), empty on success.
        public var console: [String] = []
        public var sourceQEMULog: [String] = []
        public var destinationQEMULog: [String] = []
        public var destinationKernelLog: [String] = []
    }

    public func run() throws -> Outcome {
        var out = Outcome()
        guard let info = try source.guestInfo(guest) else {
            out.console = ["error: failed to get domain '\(guest)'"]
            return out
        }
        let uuid = info.mdev
        // Begin phase on the source (qemuMigrationSrcIsAllowed): libvirt asks
        // QEMU for migration blockers (query-migrate blocked-reasons).
        if let uuid {
            var reasons: [String] = []
            if info.migration == .off {
                reasons.append("\(uuid): Migration is disabled for VFIO device")
            } else {
                do { _ = try source.migrationFlags(uuid) } catch Errno.inappropriateIOCTLForDevice {
                    reasons.append("\(uuid): VFIO migration is not supported in kernel")
                }
            }
            if !reasons.isEmpty {
                out.console = ["error: Requested operation is not valid: cannot migrate domain: " + reasons.joined(separator: "; ")]
                return out
            }
        }
        // Prepare phase on the destination: the mdev with the same UUID must
        // exist (virMediatedDeviceNew).
        if let uuid, !(try destination.mdevExists(uuid)) {
            out.console = ["error: device not found: mediated device '\(uuid)' not found"]
            return out
        }
        let kernelLogBefore = try destination.kernelLog().count

        // The destination QEMU starts with -incoming -S and realizes the device.
        var options = GuestManager.StartOptions()
        options.paused = true
        options.migration = info.migration
        if let uuid {
            do {
                try destination.startGuest(guest, mdev: uuid, options: options)
            } catch {
                out.console = ["error: internal error: qemu unexpectedly closed the monitor: qemu-system-s390x: -device vfio-ap,sysfsdev=/sys/bus/mdev/devices/\(uuid): \(error)"]
                return out
            }
        }
        try destination.appendLog(guest, "initiating migration")
        try source.appendLog(guest, "initiating migration")
        out.sourceQEMULog.append("initiating migration")
        out.destinationQEMULog.append("initiating migration")

        /// After a failure QEMU's migration notifier sets the device RUNNING;
        /// libvirt restarts the VM only if it was running before.
        func resumeSource() throws {
            if let uuid, info.migration != .off { try? source.setState(uuid, .running) }
            if !info.paused { try source.setPaused(guest, false) }
        }

        /// Where the destination's load failed: `vfio_load_setup` (reported by
        /// qemu_loadvm_state_setup), a section's data (qemu_loadvm_section_part_end),
        /// or a section it has no handler for.
        enum LoadFailure { case setup, section, unknownSection }

        func failIncoming(_ e: Errno, at failure: LoadFailure) throws -> Outcome {
            var o = out
            switch failure {
            case .setup: o.destinationQEMULog.append("qemu-system-s390x: Load state of device vfio failed")
            case .section: o.destinationQEMULog.append("qemu-system-s390x: error while loading state section id 1(vfio)")
            case .unknownSection: break
            }
            o.destinationQEMULog += ["shutting down, reason=failed",
                                     "terminating on signal 15 from pid \(libvirtPID) (/usr/sbin/virtqemud)"]
            try destination.stopGuest(guest)
            try source.appendLog(guest, "qemu-system-s390x: Sibling indicated error 1")
            o.sourceQEMULog.append("qemu-system-s390x: Sibling indicated error 1")
            try resumeSource()
            o.console = ["error: operation failed: job 'migration in' failed: load of migration failed: \(e.kernelDescription)"]
            o.destinationKernelLog = Array(try destination.kernelLog().dropFirst(kernelLogBefore))
            return o
        }

        guard let uuid else {
            try finish(&out, uuid: nil, wasPaused: info.paused)
            return out
        }

        // Destination: vfio_load_setup sets RESUMING (RUNNING -> STOP -> RESUMING).
        let destinationMigrates: Bool
        do {
            _ = try destination.migrationFlags(uuid)
            destinationMigrates = true
        } catch Errno.inappropriateIOCTLForDevice {
            destinationMigrates = false
        }
        if !destinationMigrates {
            // No vfio section handler on the destination: the stream has an unknown section.
            return try failIncoming(.invalidArgument, at: .unknownSection)
        }
        do { try destination.setState(uuid, .resuming) } catch let e as Errno {
            return try failIncoming(e, at: .setup)
        }

        // Source: save setup reads the data size while RUNNING.
        let size = (try? source.dataSize(uuid)) ?? 1 << 20
        let bufferSize = Int(min(UInt64(1 << 20), max(size, 1)))
        // Switchover: the VM stops (RUNNING -> STOP), then STOP_COPY opens the stream.
        try source.setPaused(guest, true)
        var stream: [UInt8] = []
        do {
            try source.setState(uuid, .stopCopy)
            while true {
                let chunk = try source.read(uuid, count: bufferSize)
                if chunk.isEmpty { break }
                stream += chunk
            }
            // vfio_save_cleanup: back to STOP, close the fd.
            try source.setState(uuid, .stop)
            try source.closeFile(uuid)
        } catch let e as Errno {
            try? source.closeFile(uuid)
            try? destination.stopGuest(guest)
            try resumeSource()
            out.console = ["error: operation failed: job 'migration out' failed: \(e.kernelDescription)"]
            return out
        }

        // Destination: vfio_load_state copies the data into the fd in chunks.
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + chunkSize)
            do {
                _ = try destination.write(uuid, Array(stream[offset..<end]))
            } catch let e as Errno {
                try? destination.closeFile(uuid)
                return try failIncoming(e, at: .section)
            }
            offset = end
        }
        try destination.closeFile(uuid)
        try finish(&out, uuid: uuid, wasPaused: info.paused)
        return out
    }

    /// The destination VM starts (RESUMING -> STOP -> RUNNING) if the source
    /// was running, else it stays paused as it was; libvirt destroys the
    /// source domain.
    private func finish(_ out: inout Outcome, uuid: String?, wasPaused: Bool) throws {
        if !wasPaused {
            try destination.setPaused(guest, false)
            if let uuid { try? destination.setState(uuid, .running) }
        }
        try source.stopGuest(guest)
        out.succeeded = true
    }
}
