/// Path helpers for the tree's absolute paths ("/" is the root), shared by
/// the tree and the FUSE front end.
public enum TreePath {
    public static func join(_ parent: String, _ name: String) -> String {
        parent == "/" ? "/" + name : parent + "/" + name
    }

    /// Everything before the last "/" ("/" for a name of the root). The
    /// tree's paths are split on UTF-8 bytes: "/" is one byte and never
    /// part of another character, and a Character search of each request's
    /// path was a profile's top entry for writes.
    public static func parent(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: slashByte), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    public static func name(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: slashByte) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }

    /// The names of `path` below the root, empty names (doubled or
    /// trailing slashes) left out.
    public static func components(_ path: Substring) -> [String] {
        var names: [String] = []
        let bytes = path.utf8
        var start = bytes.startIndex
        var index = start
        while index != bytes.endIndex {
            if bytes[index] == slashByte {
                if start != index { names.append(String(path[start..<index])) }
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        if start != bytes.endIndex { names.append(String(path[start...])) }
        return names
    }

    static let slashByte = UInt8(ascii: "/")
}
