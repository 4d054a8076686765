import CFuse
import Foundation
import SystemPackage

/// The `fuse_lowlevel_ops` table. C callbacks cannot capture context: the
/// session userdata is an unretained `RequestHandler`, recovered with
/// `fuse_req_userdata`. These closures live in this library module (not in
/// top-level code, which would make them @MainActor and trap on libfuse's
/// worker threads).
///
/// Left out on purpose: getlk/setlk/flock (without them libfuse does not
/// offer lock support and the kernel keeps locks locally, as for sysfs),
/// bmap. libfuse 3.14 itself answers ENOSYS to FUSE_STATX
/// (opcode 52), after which the kernel silently falls back to getattr.
enum FuseOperations {
    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()

        ops.`init` = { userdata, conn in
            guard let conn else { return }
            // With the caches on, symlink targets are cached too (a link
            // that changes target is a new node, invalidated as removed).
            if let userdata, Unmanaged<RequestHandler>.fromOpaque(userdata).takeUnretainedValue().kernelCache,
               conn.pointee.capable & UInt32(FUSE_CAP_CACHE_SYMLINKS) != 0 {
                conn.pointee.want |= UInt32(FUSE_CAP_CACHE_SYMLINKS)
            }
            // Every read and write must reach the tree as issued: no
            // writeback cache, no async/parallel splitting of direct I/O.
            let off = UInt32(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ASYNC_DIO | FUSE_CAP_ASYNC_READ
                | FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE
                | FUSE_CAP_POSIX_ACL | FUSE_CAP_EXPORT_SUPPORT)
            conn.pointee.want &= ~off
        }

        ops.lookup = { req, parent, name in
            guard let name else { return handler(req).reply(req, .invalidArgument) }
            handler(req).lookup(req, parent: parent, name: String(cString: name))
        }
        ops.forget = { req, inode, count in
            handler(req).forget(inode, count: count)
            fuse_reply_none(req)
        }
        ops.forget_multi = { req, count, forgets in
            let h = handler(req)
            if let forgets {
                for i in 0..<count { h.forget(forgets[i].ino, count: forgets[i].nlookup) }
            }
            fuse_reply_none(req)
        }
        ops.getattr = { req, inode, _ in
            handler(req).getattr(req, inode: inode)
        }
        ops.setattr = { req, inode, attr, toSet, _ in
            guard let attr else { return handler(req).reply(req, .invalidArgument) }
            handler(req).setattr(req, inode: inode, attr: attr.pointee, toSet: toSet)
        }
        ops.readlink = { req, inode in
            handler(req).readlink(req, inode: inode)
        }
        ops.access = { req, _, _ in
            // Only sent without default_permissions; the mode bits decide.
            handler(req).reply(req, 0)
        }
        ops.statfs = { req, _ in
            handler(req).statfs(req)
        }

        // Files
        ops.open = { req, inode, fi in
            guard let fi else { return handler(req).reply(req, .invalidArgument) }
            handler(req).open(req, inode: inode, fi: fi)
        }
        ops.read = { req, inode, size, offset, fi in
            guard let fi else { return handler(req).reply(req, .badFileDescriptor) }
            handler(req).read(req, inode: inode, size: size, offset: Int(offset), fh: fi.pointee.fh,
                              flags: fi.pointee.flags)
        }
        ops.write = { req, inode, buf, size, _, fi in
            guard let fi else { return handler(req).reply(req, .badFileDescriptor) }
            // Counted until answered: FuseMount lets released stores reply
            // before it ends the session.
            let session = fuse_req_userdata(req)!
            PendingWrites.begin(session)
            defer { PendingWrites.end(session) }
            handler(req).write(req, inode: inode, data: UnsafeRawBufferPointer(start: buf, count: size),
                               fh: fi.pointee.fh, flags: fi.pointee.flags)
        }
        ops.lseek = { req, inode, offset, whence, _ in
            handler(req).lseek(req, inode: inode, offset: Int(offset), whence: whence)
        }
        // With the caches on, ENOSYS tells the kernel never to send FLUSH
        // again (kernfs has no flush): one round trip less per close.
        ops.flush = { req, _, _ in
            let h = handler(req)
            h.reply(req, h.kernelCache ? Int32(ENOSYS) : 0)
        }
        // kernfs files and dirs use noop_fsync.
        ops.fsync = { req, _, _, _ in handler(req).reply(req, 0) }
        ops.release = { req, _, fi in
            handler(req).release(req, fh: fi?.pointee.fh ?? 0)
        }
        ops.poll = { req, _, _, ph in
            // kernfs_fop_poll with no event pending: DEFAULT_POLLMASK.
            if let ph { fuse_pollhandle_destroy(ph) }
            _ = fuse_reply_poll(req, UInt32(POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM))
        }
        ops.ioctl = { req, _, _, _, _, _, _, _, _ in
            handler(req).reply(req, .inappropriateIOCTLForDevice)
        }
        ops.fallocate = { req, _, _, _, _, _ in
            handler(req).reply(req, .notSupported)
        }
        ops.copy_file_range = { req, _, _, _, _, _, _, _, _ in
            // The kernel then falls back to a plain read/write copy.
            handler(req).reply(req, .notSupported)
        }

        // Directories
        ops.opendir = { req, inode, fi in
            guard let fi else { return handler(req).reply(req, .invalidArgument) }
            handler(req).opendir(req, inode: inode, fi: fi)
        }
        ops.readdir = { req, inode, size, offset, fi in
            handler(req).readdir(req, inode: inode, size: size, offset: Int(offset), fh: fi?.pointee.fh ?? 0)
        }
        ops.readdirplus = { req, inode, size, offset, fi in
            handler(req).readdirplus(req, inode: inode, size: size, offset: Int(offset), fh: fi?.pointee.fh ?? 0)
        }
        ops.releasedir = { req, _, fi in
            handler(req).releasedir(req, fh: fi?.pointee.fh ?? 0)
        }
        ops.fsyncdir = { req, _, _, _ in handler(req).reply(req, 0) }

        // Namespace changes, refused as kernfs refuses them for root.
        ops.create = { req, _, _, _, _ in handler(req).create(req) }
        ops.mknod = { req, _, _, mode, _ in handler(req).mknod(req, mode: mode) }
        ops.mkdir = { req, _, _, _ in handler(req).reply(req, .notPermitted) }
        ops.unlink = { req, _, _ in handler(req).reply(req, .notPermitted) }
        ops.rmdir = { req, _, _ in handler(req).reply(req, .notPermitted) }
        ops.symlink = { req, _, _, _ in handler(req).reply(req, .notPermitted) }
        ops.link = { req, _, _, _ in handler(req).reply(req, .notPermitted) }
        ops.rename = { req, _, _, _, _, flags in handler(req).rename(req, flags: flags) }

        // Extended attributes
        ops.setxattr = { req, _, name, _, _, _ in
            handler(req).setxattr(req, name: name.map { String(cString: $0) } ?? "")
        }
        ops.getxattr = { req, _, name, _ in handler(req).getxattr(req, name: name.map { String(cString: $0) } ?? "") }
        ops.listxattr = { req, _, size in handler(req).listxattr(req, size: size) }
        ops.removexattr = { req, _, name in
            handler(req).removexattr(req, name: name.map { String(cString: $0) } ?? "")
        }
        return ops
    }
}

@inline(__always)
private func handler(_ req: fuse_req_t?) -> RequestHandler {
    Unmanaged<RequestHandler>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
}
