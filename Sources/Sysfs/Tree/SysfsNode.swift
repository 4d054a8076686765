import APCore
import SystemPackage

/// One kernfs node: a directory, an attribute or a symlink.
public enum SysfsNode {
    case directory(SysfsDirectory)
    case attribute(SysfsAttribute)
    case symlink(String)

    public var type: NodeType {
        switch self {
        case .directory: return .directory
        case .attribute: return .regularFile
        case .symlink: return .symlink
        }
    }
}

/// A sysfs attribute: its mode and its show/store pair, as
/// `DEVICE_ATTR_RO/_WO/_RW` declare them.
public struct SysfsAttribute {
    public var mode: UInt16
    public var show: (() throws -> String)?
    /// Gets the bytes of one write() (at most 4096); returns nothing: a
    /// successful store consumes the whole write, as every store here does.
    public var store: (([UInt8]) throws -> Void)?

    /// 0444.
    public static func readOnly(_ show: @escaping () throws -> String) -> SysfsAttribute {
        SysfsAttribute(mode: 0o444, show: show, store: nil)
    }

    /// 0200.
    public static func writeOnly(_ store: @escaping ([UInt8]) throws -> Void) -> SysfsAttribute {
        SysfsAttribute(mode: 0o200, show: nil, store: store)
    }

    /// 0644.
    public static func readWrite(_ show: @escaping () throws -> String,
                                 _ store: @escaping ([UInt8]) throws -> Void) -> SysfsAttribute {
        SysfsAttribute(mode: 0o644, show: show, store: store)
    }
}

/// A directory that can list its entries and look one up by name without
/// building the others (a card directory has 256 queues, bus/ap/devices 65,792 links).
public struct SysfsDirectory {
    public var list: () -> [DirectoryEntry]
    public var child: (String) -> SysfsNode?
    /// How many entries are directories (for `nlink`), without listing a
    /// large directory on every stat.
    public var subdirectoryCount: () -> Int

    /// `subdirectories` defaults to counting the listing; large directories
    /// give a cheaper count.
    public init(list: @escaping () -> [DirectoryEntry], child: @escaping (String) -> SysfsNode?,
                subdirectories: (() -> Int)? = nil) {
        self.list = list
        self.child = child
        self.subdirectoryCount = subdirectories ?? { list().filter { $0.type == .directory }.count }
    }

    /// A directory of fixed entries, built lazily.
    public init(_ entries: [Entry]) {
        self.list = { entries.map { DirectoryEntry(name: $0.name, type: $0.type) } }
        self.child = { name in entries.first { $0.name == name }?.make() }
        let subdirectories = entries.filter { $0.type == .directory }.count
        self.subdirectoryCount = { subdirectories }
    }

    /// One named entry whose node is built only when looked up.
    public struct Entry {
        public var name: String
        public var type: NodeType
        public var make: () -> SysfsNode

        public static func attribute(_ name: String, _ a: @escaping @autoclosure () -> SysfsAttribute) -> Entry {
            Entry(name: name, type: .regularFile) { .attribute(a()) }
        }
        public static func link(_ name: String, _ target: String) -> Entry {
            Entry(name: name, type: .symlink) { .symlink(target) }
        }
        public static func directory(_ name: String, _ d: @escaping @autoclosure () -> SysfsDirectory) -> Entry {
            Entry(name: name, type: .directory) { .directory(d()) }
        }
    }
}
