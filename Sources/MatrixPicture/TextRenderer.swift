import APCore

/// Draws a `MatrixPicture` as text: a header of domains, a row per adapter
/// (or run of alike adapters), the mdev legend and what the cells mean.
/// With `colour`, ANSI SGR sequences colour the cells; padding stays
/// outside them so columns line up either way.
public struct TextRenderer: Sendable {
    public enum Condensing: String, Sendable, CaseIterable {
        /// Condense when the matrix has more than `autoLimit` rows or columns.
        case auto
        case always
        case never
    }

    public var colour: Bool
    public var condensing: Condensing
    /// Beyond this many adapters or domains, `auto` condenses.
    public static let autoLimit = 16

    public init(colour: Bool = false, condensing: Condensing = .auto) {
        self.colour = colour
        self.condensing = condensing
    }

    public func render(_ p: MatrixPicture) -> String {
        let condense: Bool
        switch condensing {
        case .auto: condense = p.adapters.count > Self.autoLimit || p.domains.count > Self.autoLimit
        case .always: condense = true
        case .never: condense = false
        }
        let grid = condense ? CondensedGrid(condensing: p) : CondensedGrid(expanding: p)
        var out = "host \(p.host): \(p.adapters.count) adapters x \(p.domains.count) usage domains"
            + " (rows: adapters, columns: domains)\n"
        guard !grid.rows.isEmpty, !grid.columns.isEmpty else {
            return out + "no AP queues: no adapter or no usage domain in the configuration\n"
        }
        if grid.rows.count < p.adapters.count || grid.columns.count < p.domains.count {
            out += "condensed: neighbours that look alike merged into ranges"
                + " (\(grid.rows.count) of \(p.adapters.count) rows, \(grid.columns.count) of \(p.domains.count) columns)\n"
        }
        out += "\n"
        let tokens = grid.looks.map(CellToken.init)
        let rowLabels = grid.rows.map { label($0, width: 2) }
        let columnLabels = grid.columns.map { label($0, width: 4) }
        let labelWidth = rowLabels.map(\.count).max() ?? 0
        let widths = grid.columns.indices.map { c in
            grid.rows.indices.map { tokens[$0 * grid.columns.count + c].text.count }.reduce(columnLabels[c].count, max)
        }
        out += pad("", labelWidth)
        for (c, l) in columnLabels.enumerated() { out += "  " + pad(l, widths[c]) }
        out = trimmed(out) + "\n"
        for (r, rowLabel) in rowLabels.enumerated() {
            var line = pad(rowLabel, labelWidth)
            for c in grid.columns.indices {
                let t = tokens[r * grid.columns.count + c]
                line += "  " + paint(t) + String(repeating: " ", count: widths[c] - t.text.count)
            }
            out += trimmed(line) + "\n"
        }
        out += legend(p, tokens)
        return out
    }

    /// `05` or `00-ff` for adapters; `0004` or `0000-00ff` for domains.
    func label(_ run: CondensedGrid.Run, width: Int) -> String {
        let first = KernelFormat.hex(run.first, width: width)
        return run.first == run.last ? first : first + "-" + KernelFormat.hex(run.last, width: width)
    }

    func paint(_ t: CellToken) -> String {
        guard colour else { return t.text }
        var s = "\u{1B}[\(t.ownerColour)m\(t.owner)\u{1B}[0m"
        if !t.suffix.isEmpty { s += "\u{1B}[1;31m\(t.suffix)\u{1B}[0m" }
        return s
    }

    /// The mdevs (letter, UUID, guest) and what the drawn cells mean.
    func legend(_ p: MatrixPicture, _ tokens: [CellToken]) -> String {
        var out = ""
        if !p.mdevs.isEmpty {
            out += "\nmdevs:\n"
            let width = p.mdevs.map(\.letter.count).max() ?? 1
            for m in p.mdevs {
                let who = m.guest.map { "guest \($0) (\(m.guestState ?? "running"))" } ?? "no guest"
                out += "  " + pad(m.letter, width) + "  " + m.uuid + "  " + who + "\n"
            }
        }
        out += "\ncells:\n"
        for kind in Set(tokens.map(\.kind)).sorted() { out += "  " + CellToken.legend(kind) + "\n" }
        for state in PictureCell.State.allCases where tokens.contains(where: { $0.state == state }) {
            if let l = CellToken.legend(state) { out += "  " + l + "\n" }
        }
        return out
    }

    func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }

    func trimmed(_ s: String) -> String {
        var s = s
        while s.last == " " { s.removeLast() }
        return s
    }
}
