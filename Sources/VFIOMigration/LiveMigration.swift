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

    /// What has happened so far, for the recovery after a failure.
    private struct Progress {
        var uuid: String?
        var sourceWasPaused = true
        var migration: MigrationSetting = .auto
        var destinationStarted = false
        var destinationRunning = false
        var kernelLogBefore = 0
    }

    public func run() throws -> Outcome {
        var out = Outcome()
        var progress = Progress()
        let step = StepRecord()
        do {
            return try run(&out, &progress, TracedPeer(source, step, isDestination: false),
                           TracedPeer(destination, step, isDestination: true))
        } catch let lost as PeerUnreachable where lost.peer == ObjectIdentifier(destination) {
            return lostDestination(out, progress)
        } catch let lost as PeerUnreachable where lost.peer == ObjectIdentifier(source) {
            return lostSource(out, progress)
        } catch {
            return cancelled(out, progress, error, at: step)
        }
    }

    /// Any other failure (a request refused for a reason that is not the
    /// kernel's, a reply that does not decode, an errno no step above
    /// expects): libvirt cancels the job, as for a failed QEMU migration.
    /// The incoming guest is dropped (libvirt's Finish kills the
    /// destination QEMU), the source device goes back to RUNNING (QEMU's
    /// notifier; its stream closed) and the VM resumes if it ran. Each
    /// step is tried whatever the others did. A destination that already
    /// runs the guest keeps it: the migration itself is done.
    private func cancelled(_ out: Outcome, _ p: Progress, _ error: Error, at step: StepRecord) -> Outcome {
        var o = out
        o.succeeded = false
        let reason = (error as? Errno)?.kernelDescription ?? "\(error)"
        let job = step.onDestination ? "migration in" : "migration out"
        o.console = ["error: operation failed: job '\(job)' failed: host '\(step.host)': \(step.operation): \(reason)"]
        guard !p.destinationRunning else { return o }
        if p.destinationStarted {
            if let uuid = p.uuid { try? destination.closeFile(uuid) }
            if (try? destination.stopGuest(guest)) != nil {
                o.destinationQEMULog.append("terminating on signal 15 from pid \(libvirtPID) (/usr/sbin/virtqemud)")
            }
            if let log = try? destination.kernelLog() { o.destinationKernelLog = Array(log.dropFirst(p.kernelLogBefore)) }
        }
        if let uuid = p.uuid {
            if p.migration != .off { try? source.setState(uuid, .running) }
            try? source.closeFile(uuid)
        }
        if !p.sourceWasPaused { try? source.setPaused(guest, false) }
        return o
    }

    /// The destination host went away (crashed, killed) mid-migration.
    /// libvirt's job monitor sees its connection die
    /// (`qemuMigrationAnyCompleted`: "Lost connection to destination
    /// host"); QEMU's source migration fails, its notifier sets the device
    /// RUNNING (STOP_COPY -> STOP -> RUNNING closes the stream) and libvirt
    /// resumes the VM if it was running. Whatever the source cannot do
    /// (it may be gone too) is skipped.
    private func lostDestination(_ out: Outcome, _ p: Progress) -> Outcome {
        var o = out
        if let uuid = p.uuid {
            if p.migration != .off { try? source.setState(uuid, .running) }
            try? source.closeFile(uuid)
        }
        if !p.sourceWasPaused { try? source.setPaused(guest, false) }
        o.succeeded = false
        // The destination's logs went with it.
        o.destinationQEMULog = []
        o.destinationKernelLog = []
        o.console = ["error: operation failed: Lost connection to destination host"]
        return o
    }

    /// The source host went away mid-migration: virsh's connection to it
    /// ends (libvirt's RPC: "End of file while reading data"); the
    /// destination QEMU's incoming stream ends early ("load of migration
    /// failed: Input/output error") and it exits, so its device is closed
    /// and the destination libvirt drops the incoming domain. A destination
    /// that already runs the guest keeps it.
    private func lostSource(_ out: Outcome, _ p: Progress) -> Outcome {
        var o = out
        o.succeeded = false
        o.console = ["error: End of file while reading data: Input/output error"]
        guard p.destinationStarted, !p.destinationRunning else { return o }
        let line = "qemu-system-s390x: load of migration failed: \(Errno.ioError.kernelDescription)"
        try? destination.appendLog(guest, line)
        o.destinationQEMULog += [line, "shutting down, reason=failed"]
        if let uuid = p.uuid { try? destination.closeFile(uuid) }
        try? destination.stopGuest(guest)
        if let log = try? destination.kernelLog() { o.destinationKernelLog = Array(log.dropFirst(p.kernelLogBefore)) }
        return o
    }

    /// `source` and `destination` here are the traced peers of `run()`.
    private func run(_ out: inout Outcome, _ progress: inout Progress,
                     _ source: MigrationPeer, _ destination: MigrationPeer) throws -> Outcome {
        guard let info = try source.guestInfo(guest) else {
            out.console = ["error: failed to get domain '\(guest)'"]
            return out
        }
        let uuid = info.mdev
        progress.sourceWasPaused = info.paused
        progress.migration = info.migration
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
        progress.kernelLogBefore = kernelLogBefore

        // The destination QEMU starts with -incoming -S and realizes the device.
        var options = GuestManager.StartOptions()
        options.paused = true
        options.migration = info.migration
        if let uuid {
            do {
                try destination.startGuest(guest, mdev: uuid, options: options)
                progress.destinationStarted = true
                progress.uuid = uuid
            } catch let lost as PeerUnreachable {
                throw lost
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
            try finish(&out, &progress, source, destination, uuid: nil, wasPaused: info.paused)
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
        try finish(&out, &progress, source, destination, uuid: uuid, wasPaused: info.paused)
        return out
    }

    /// The destination VM starts (RESUMING -> STOP -> RUNNING) if the source
    /// was running, else it stays paused as it was; libvirt destroys the
    /// source domain.
    private func finish(_ out: inout Outcome, _ progress: inout Progress, _ source: MigrationPeer,
                        _ destination: MigrationPeer, uuid: String?, wasPaused: Bool) throws {
        if !wasPaused {
            try destination.setPaused(guest, false)
            if let uuid { try? destination.setState(uuid, .running) }
        }
        progress.destinationRunning = true
        try source.stopGuest(guest)
        out.succeeded = true
    }
}
