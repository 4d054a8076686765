/// FNV-1a (64 bits) of a tree path's UTF-8 bytes: the base of inode
/// numbers. Unlike Swift's Hasher it can go on from a directory's hash to a
/// child's (`child(of:hash:name:)`), so a listing numbers its entries
/// without building their paths, and it is the same in every run.
enum PathHash {
    private static let basis: UInt64 = 0xCBF2_9CE4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01B3

    static func of(_ path: String) -> UInt64 {
        add(path, to: basis)
    }

    /// The hash of TreePath.join(dir, name), from dir's hash.
    static func child(of dir: String, hash: UInt64, name: String) -> UInt64 {
        // join("/", name) is "/name", not "//name".
        add(name, to: dir == "/" ? hash : add(byte: UInt8(ascii: "/"), to: hash))
    }

    private static func add(byte: UInt8, to hash: UInt64) -> UInt64 {
        (hash ^ UInt64(byte)) &* prime
    }

    private static func add(_ text: String, to hash: UInt64) -> UInt64 {
        var h = hash
        var text = text
        text.withUTF8 { bytes in
            for b in bytes { h = (h ^ UInt64(b)) &* prime }
        }
        return h
    }
}
