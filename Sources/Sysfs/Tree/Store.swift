import APCore
import SystemPackage

/// Small helpers shared by the attribute declarations.
enum Show {
    /// `%d\n`, `%u\n`, `%llu\n`.
    static func line<T: BinaryInteger>(_ v: T) -> String { "\(v)\n" }
    static func flag(_ b: Bool) -> String { b ? "1\n" : "0\n" }
}

extension S390Host {
    /// Runs a store's model change; a vanished object answers ENODEV, as
    /// kernfs does for an attribute removed while open.
    func store(_ body: (inout HostState) throws -> Void) throws {
        try update(body)
    }
}
