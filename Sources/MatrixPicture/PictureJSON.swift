import Foundation

/// The picture as a stable JSON document for scripts (and the control
/// socket's `show` reply): keys sorted, one mdev and one cell per line, so
/// that `grep` works as well as `jq`.
///
///     {
///       "adapters": [5, 6],
///       "cells": [
///         {"adapter":5,"apqn":"05.0004","domain":4,"mdev":"A","owner":"mdev","state":"online","use":"in-use"},
///         ...
///       ],
///       "domains": [4, 71, 171, 255],
///       "host": "src",
///       "mdevs": [
///         {"guest":"g1","guest_state":"running","letter":"A","uuid":"62177883-..."}
///       ],
///       "version": 1
///     }
public enum PictureJSON {
    /// Bumped when a key changes meaning or goes away.
    public static let version = 1

    public static func encode(_ p: MatrixPicture) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func line<T: Encodable>(_ value: T) -> String {
            // Encoding these plain structs cannot fail.
            String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
        }
        func list(_ items: [String]) -> String {
            items.isEmpty ? "[]" : "[\n" + items.map { "    " + $0 }.joined(separator: ",\n") + "\n  ]"
        }
        return "{\n"
            + "  \"adapters\": \(line(p.adapters)),\n"
            + "  \"cells\": \(list(p.cells.map(cellLine))),\n"
            + "  \"domains\": \(line(p.domains)),\n"
            + "  \"host\": \(line(p.host)),\n"
            + "  \"mdevs\": \(list(p.mdevs.map(line))),\n"
            + "  \"version\": \(version)\n"
            + "}\n"
    }

    /// A cell by hand: a large host has 65,536 of them, and the keys and
    /// values are all known plain words (what JSONEncoder would write).
    static func cellLine(_ c: PictureCell) -> String {
        var s = "{\"adapter\":\(c.adapter),\"apqn\":\"\(c.apqn)\",\"domain\":\(c.domain),"
        if let m = c.mdev { s += "\"mdev\":\"\(m)\"," }
        s += "\"owner\":\"\(c.owner.rawValue)\",\"state\":\"\(c.state.rawValue)\""
        if let u = c.use { s += ",\"use\":\"\(u.rawValue)\"" }
        return s + "}"
    }

    public struct FormatError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func decode(_ text: String) throws -> MatrixPicture {
        let d: Document
        do {
            d = try JSONDecoder().decode(Document.self, from: Data(text.utf8))
        } catch {
            throw FormatError(description: "not a matrix picture: \(error)")
        }
        guard d.version == version else { throw FormatError(description: "matrix picture version \(d.version), expected \(version)") }
        guard d.cells.count == d.adapters.count * d.domains.count else {
            throw FormatError(description: "matrix picture has \(d.cells.count) cells for \(d.adapters.count) x \(d.domains.count)")
        }
        return MatrixPicture(host: d.host, adapters: d.adapters, domains: d.domains, mdevs: d.mdevs, cells: d.cells)
    }

    struct Document: Decodable {
        var adapters: [Int]
        var cells: [PictureCell]
        var domains: [Int]
        var host: String
        var mdevs: [MdevLabel]
        var version: Int
    }
}
