import APCore
import SystemPackage

/// The vfio_ap migration driver of the seed for one open mdev
/// (`struct vfio_ap_migration_data`, created at open, released at close):
/// the `migration_set_state`, `migration_get_state` and
/// `migration_get_data_size` callbacks and the file operations. Every method
/// takes the host state `inout`: it runs with the host lock held, as the
/// kernel's run under `matrix_dev->mdevs_lock`.
public final class VFIOAPMigration: @unchecked Sendable {
    public let uuid: String
    /// `migration_flags`: STOP_COPY only.
    public let flags: MigrationFlags = .stopCopy
    /// `mig_data->mig_state`, RUNNING at open.
    public private(set) var state: MigrationState = .running
    public private(set) var savingFile: MigrationFile?
    public private(set) var resumingFile: MigrationFile?

    init(uuid: String, state: MigrationState = .running) {
        self.uuid = uuid
        self.state = state
    }

    // MARK: - set_state (patch 05)

    /// Walks `vfio_mig_get_next_state` arc by arc, recording the state after
    /// each successful arc; returns the data file the last arc opened.
    func setState(_ target: MigrationState, _ s: inout HostState) throws -> MigrationFile? {
        try setState(rawTarget: target.rawValue, &s)
    }

    /// `rawTarget` is the `device_state` word userspace passed: the SE
    /// refusal comes first, then `vfio_mig_get_next_state` refuses a number
    /// past the enum with EINVAL.
    func setState(rawTarget: UInt32, _ s: inout HostState) throws -> MigrationFile? {
        if s.machine.secureExecutionGuest {
            s.logMdev(.err, uuid, "Migration not allowed from or to a Secure Execution guest")
            throw Errno.notPermitted
        }
        guard let target = MigrationState(rawValue: rawTarget) else { throw Errno.invalidArgument }
        var file: MigrationFile?
        while state != target {
            let next = try NextStateTable.next(from: state, to: target, flags: flags)
            file = try transition(to: next, &s)
            state = next
            if file != nil && next != target {
                // A file from an interior arc is a driver bug (WARN_ON).
                throw Errno.invalidArgument
            }
        }
        return file
    }

    /// `vfio_ap_transition_to_state`: the arcs a STOP_COPY-only device sees.
    private func transition(to next: MigrationState, _ s: inout HostState) throws -> MigrationFile? {
        switch (state, next) {
        case (.stop, .stopCopy):
            let file = MigrationFile(direction: .save, uuid: uuid, buffer: try saveConfig(&s))
            savingFile = file
            return file
        case (.stop, .resuming):
            guard let m = s.mdevIndex(uuid: uuid).map({ s.mdevs[$0] }) else { throw Errno.noDevice }
            // vfio_ap_allocate_config: sized from the target's guest matrix.
            let count = m.shadow.queueCount
            let buffer = APConfigStream(queueCount: UInt32(count), entries: []).encoded()
            let file = MigrationFile(direction: .resume, uuid: uuid, buffer: buffer)
            resumingFile = file
            return file
        case (.resuming, .stop), (.stopCopy, .stop):
            // No device state to load or stop: release the files (patches 10, 11).
            releaseFiles()
            return nil
        case (.stop, .running), (.running, .stop):
            return nil
        default:
            // vfio_mig_get_next_state() uses no other arcs (WARN_ON).
            throw Errno.invalidArgument
        }
    }

    /// `vfio_ap_allocate_config` + `vfio_ap_store_queue_info`: one entry per
    /// APQN of the guest matrix that has a vfio_ap queue, with its TAPQ hwinfo.
    private func saveConfig(_ s: inout HostState) throws -> [UInt8] {
        guard let i = s.mdevIndex(uuid: uuid) else { throw Errno.noDevice }
        let shadow = s.mdevs[i].shadow
        var entries: [APConfigStream.Entry] = []
        for q in shadow.apqns {
            guard let queue = s.queues[q], queue.driver == .vfioAP else { continue }
            entries.append(APConfigStream.Entry(hardwareInfo: queue.hardwareInfo, apqn: q))
        }
        return APConfigStream(queueCount: UInt32(shadow.queueCount), entries: entries).encoded()
    }

    /// `vfio_ap_release_mig_files`.
    func releaseFiles() {
        resumingFile?.disable()
        resumingFile = nil
        savingFile?.disable()
        savingFile = nil
    }

    /// `vfio_ap_get_data_size`: 8 + 16 per APQN of the guest matrix, in any state.
    func dataSize(_ s: HostState) throws -> UInt64 {
        guard let i = s.mdevIndex(uuid: uuid) else { throw Errno.noDevice }
        return UInt64(APConfigStream.size(queueCount: s.mdevs[i].shadow.queueCount))
    }

    // MARK: - resume write (patch 09)

    /// `vfio_ap_resume_write`: takes the bytes, then validates what it has:
    /// the queue count once it is known, the APQNs and their hardware once
    /// the whole configuration is in.
    func write(_ file: MigrationFile, _ bytes: [UInt8], _ s: inout HostState) throws -> Int {
        guard file.direction == .resume else { throw Errno.badFileDescriptor }
        if file.disabled { throw Errno.noDevice }
        let total = file.position + bytes.count
        if total > file.configSize {
            s.logMdev(.err, uuid, "migration failed: source guest's AP config size (\(total)) larger than target's (\(file.configSize))")
            throw Errno.ioError
        }
        file.buffer.replaceSubrange(file.position..<total, with: bytes)
        file.position = total
        try postCopyValidation(file, &s)
        return bytes.count
    }

    /// `do_post_copy_validation`.
    private func postCopyValidation(_ file: MigrationFile, _ s: inout HostState) throws {
        guard file.position >= 4, let sourceCount = APConfigStream.queueCount(in: file.buffer) else { return }
        guard let i = s.mdevIndex(uuid: uuid) else { throw Errno.noDevice }
        let shadow = s.mdevs[i].shadow
        // vfio_ap_validate_num_queues
        // Both counts are ints in the kernel.
        let targetCount = shadow.queueCount
        let source = Int(Int32(bitPattern: sourceCount))
        if source != targetCount {
            s.logMdev(.err, uuid, "migration failed: number of queues on source (\(source)) and target (\(targetCount)) guests differ")
            throw targetCount > source ? Errno.noDevice : Errno.argListTooLong
        }
        guard file.position == file.configSize, let config = APConfigStream.decode(file.buffer) else { return }
        // apqns_match: every missing APQN is logged.
        var allAssigned = true
        for e in config.entries where !(shadow.adapters.contains(e.apqn.card) && shadow.domains.contains(e.apqn.domain)) {
            s.logMdev(.err, uuid, "migration failed: queue \(e.apqn) not assigned to guest matrix")
            allAssigned = false
        }
        if !allAssigned { throw Errno.noDevice }
        // matrixes_compatible: stops at the first incompatible queue.
        for e in config.entries {
            guard let target = s.queues[e.apqn]?.hardwareInfo else { throw Errno.noDevice }
            if !QueueCompatibility.isCompatible(source: e.hardwareInfo, target: target) {
                for line in QueueCompatibility.report(apqn: e.apqn, source: e.hardwareInfo, target: target) {
                    s.logMdev(.err, uuid, line)
                }
                throw Errno.badAddress
            }
        }
    }
}
