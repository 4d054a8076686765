import APCore

/// Small helpers shared by the attribute declarations.
enum Show {
    /// `%d\n`, `%u\n`, `%llu\n`.
    static func line<T: BinaryInteger>(_ v: T) -> String { "\(v)\n" }
    static func flag(_ b: Bool) -> String { b ? "1\n" : "0\n" }
}
