import Glibc

/// SCM_RIGHTS over a Unix socket, with the cmsg layout of x86-64 and s390x
/// Linux spelled out (CMSG_* are macros Swift cannot call): a 16-byte
/// header `{size_t len; int level; int type}`, then one int.
enum FileDescriptorPassing {
    static let headerSize = MemoryLayout<Int>.size + 2 * MemoryLayout<Int32>.size
    /// CMSG_SPACE(sizeof(int)).
    static let space = headerSize + 8

    /// Sends `bytes` with `fd` attached.
    static func send(_ socket: Int32, _ bytes: [UInt8], fd: Int32) -> Bool {
        var control = [UInt8](repeating: 0, count: space)
        control.withUnsafeMutableBytes { c in
            c.storeBytes(of: headerSize + MemoryLayout<Int32>.size, toByteOffset: 0, as: Int.self)
            c.storeBytes(of: SOL_SOCKET, toByteOffset: MemoryLayout<Int>.size, as: Int32.self)
            c.storeBytes(of: Int32(SCM_RIGHTS), toByteOffset: MemoryLayout<Int>.size + 4, as: Int32.self)
            c.storeBytes(of: fd, toByteOffset: headerSize, as: Int32.self)
        }
        var data = bytes
        return data.withUnsafeMutableBytes { d in
            control.withUnsafeMutableBytes { c in
                var iov = iovec(iov_base: d.baseAddress, iov_len: d.count)
                return withUnsafeMutablePointer(to: &iov) { ip in
                    var msg = msghdr()
                    msg.msg_iov = ip
                    msg.msg_iovlen = 1
                    msg.msg_control = c.baseAddress
                    msg.msg_controllen = c.count
                    return sendmsg(socket, &msg, Int32(MSG_NOSIGNAL)) == d.count
                }
            }
        }
    }

    /// Receives up to `max` bytes and the fds that came with them (made
    /// close-on-exec). Returns nil on EOF or error.
    static func receive(_ socket: Int32, max: Int) -> (bytes: [UInt8], fds: [Int32])? {
        var data = [UInt8](repeating: 0, count: max)
        var control = [UInt8](repeating: 0, count: space * 4)
        let (n, controlLength) = data.withUnsafeMutableBytes { d in
            control.withUnsafeMutableBytes { c -> (Int, Int) in
                var iov = iovec(iov_base: d.baseAddress, iov_len: d.count)
                return withUnsafeMutablePointer(to: &iov) { ip in
                    var msg = msghdr()
                    msg.msg_iov = ip
                    msg.msg_iovlen = 1
                    msg.msg_control = c.baseAddress
                    msg.msg_controllen = c.count
                    let n = recvmsg(socket, &msg, Int32(MSG_CMSG_CLOEXEC))
                    return (n, Int(msg.msg_controllen))
                }
            }
        }
        guard n > 0 else { return nil }
        var fds: [Int32] = []
        var offset = 0
        while offset + headerSize <= controlLength {
            let (len, level, type) = control.withUnsafeBytes { c in
                (c.load(fromByteOffset: offset, as: Int.self),
                 c.load(fromByteOffset: offset + MemoryLayout<Int>.size, as: Int32.self),
                 c.load(fromByteOffset: offset + MemoryLayout<Int>.size + 4, as: Int32.self))
            }
            guard len >= headerSize else { break }
            if level == SOL_SOCKET && type == Int32(SCM_RIGHTS) {
                var p = offset + headerSize
                while p + 4 <= offset + len {
                    fds.append(control.withUnsafeBytes { $0.load(fromByteOffset: p, as: Int32.self) })
                    p += 4
                }
            }
            offset += (len + 7) & ~7
        }
        return (Array(data[0..<n]), fds)
    }
}
