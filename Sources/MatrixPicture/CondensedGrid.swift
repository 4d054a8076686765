/// The picture's grid with runs of adapters (rows) and of domains (columns)
/// that look the same merged into ranges, so that a host of 256 x 256
/// queues stays a screenful. Only numerically consecutive IDs merge: a
/// range label `00-0f` then means exactly the IDs it names.
public struct CondensedGrid: Equatable, Sendable {
    /// A run of consecutive IDs: `first...last`.
    public struct Run: Equatable, Sendable {
        public var first: Int
        public var last: Int
        /// Indices into the picture's `adapters` or `domains`.
        public var indices: Range<Int>
    }

    public var rows: [Run]
    public var columns: [Run]
    /// One look per row run and column run, row-major.
    public var looks: [PictureCell.Look]

    public func look(row: Int, column: Int) -> PictureCell.Look { looks[row * columns.count + column] }

    /// Every adapter and domain on its own: no merging.
    public init(expanding p: MatrixPicture) {
        rows = Self.singles(p.adapters)
        columns = Self.singles(p.domains)
        looks = p.cells.map(\.look)
    }

    /// Columns first (each domain's column of looks), then rows over the
    /// merged columns: runs whose looks are identical throughout merge.
    public init(condensing p: MatrixPicture) {
        let columnLooks = p.domains.indices.map { c in p.adapters.indices.map { r in p.cell(row: r, column: c).look } }
        columns = Self.runs(p.domains, columnLooks)
        let cols = columns
        let rowLooks = p.adapters.indices.map { r in cols.map { p.cell(row: r, column: $0.indices.lowerBound).look } }
        rows = Self.runs(p.adapters, rowLooks)
        looks = rows.flatMap { rowLooks[$0.indices.lowerBound] }
    }

    static func singles(_ ids: [Int]) -> [Run] {
        ids.enumerated().map { i, id in Run(first: id, last: id, indices: i..<(i + 1)) }
    }

    /// Merges neighbours with consecutive IDs and equal `keys`.
    static func runs<Key: Equatable>(_ ids: [Int], _ keys: [Key]) -> [Run] {
        var out: [Run] = []
        for (i, id) in ids.enumerated() {
            if let last = out.last, last.last + 1 == id, keys[last.indices.lowerBound] == keys[i] {
                out[out.count - 1].last = id
                out[out.count - 1].indices = last.indices.lowerBound..<(i + 1)
            } else {
                out.append(Run(first: id, last: id, indices: i..<(i + 1)))
            }
        }
        return out
    }
}
