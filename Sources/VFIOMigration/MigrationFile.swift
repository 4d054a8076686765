import APCore
import SystemPackage

/// A migration data file (`struct vfio_ap_migration_file` behind an anon
/// inode opened with `stream_open`): the save stream of STOP_COPY or the
/// resume stream of RESUMING. Only touched with the host lock held, as the
/// kernel holds `matrix_dev->mdevs_lock`.
public final class MigrationFile: @unchecked Sendable {
    public enum Direction: Sendable { case save, resume }

    public let direction: Direction
    /// The mdev the file belongs to (`migf->matrix_mdev`).
    public let uuid: String
    /// `ap_config` of `config_sz` bytes.
    var buffer: [UInt8]
    /// `filp->f_pos`.
    public internal(set) var position = 0
    /// Set when the driver leaves the state (`vfio_ap_disable_file`).
    public internal(set) var disabled = false

    init(direction: Direction, uuid: String, buffer: [UInt8]) {
        self.direction = direction
        self.uuid = uuid
        self.buffer = buffer
    }

    public var configSize: Int { buffer.count }

    func disable() {
        disabled = true
        position = 0
    }

    /// `vfs_read` (EBADF on the resume file, opened write-only), then
    /// `vfio_ap_save_read`: ENODEV once disabled, EINVAL past the end; 0
    /// bytes at EOF.
    func read(_ count: Int) throws -> [UInt8] {
        guard direction == .save else { throw Errno.badFileDescriptor }
        if disabled { throw Errno.noDevice }
        if position > buffer.count { throw Errno.invalidArgument }
        let n = min(buffer.count - position, max(count, 0))
        defer { position += n }
        return Array(buffer[position..<position + n])
    }
}
