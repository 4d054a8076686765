import APCore
import MatrixPicture
import XCTest

/// The text drawing: layout, legend, colour and condensing.
final class TextRendererTests: XCTestCase {
    func picture(_ host: S390Host) -> MatrixPicture { host.read { MatrixPicture($0, name: host.name) } }

    func testAGuestsMatrix() throws {
        let text = TextRenderer().render(picture(try Hosts.sourceWithGuest()))
        XCTAssertEqual(text, """
            host migration-source: 2 adapters x 2 usage domains (rows: adapters, columns: domains)

                0004  00ab
            05  A*    A*
            06  A*    A*

            mdevs:
              A  62177883-f1bb-47f0-914d-32a22e3a8804  guest g1 (running)

            cells:
              X*    in use by the guest that has mdev X open (status: in use)

            """)
    }

    func testOwnersAndStatesEachHaveTheirTokenAndLegend() throws {
        let host = try Hosts.sourceWithGuest()
        try host.update { s in
            try s.applyHardwareChange(.removeAdapter(6))
            try s.applyHardwareChange(.checkstopCard(5))
        }
        let text = TextRenderer().render(picture(host))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(Array(lines[2...4]), ["    0004    00ab", "05  A*/chk  A*/chk", "06  (A)     (A)"])
        XCTAssertTrue(lines.contains("  (X)   assigned to mdev X, no queue device"))
        XCTAssertTrue(lines.contains("  /chk  checkstopped (chkstop 1)"))
        XCTAssertFalse(text.contains("host  bound"), "only what is drawn is explained")
    }

    func testAnUnboundQueueOfAnMdevKeepsItsLetter() throws {
        let host = try Hosts.topology("migration-source.yaml")
        try host.update { try $0.unbind(driver: .vfioAP, device: "06.00ab") }
        let lines = TextRenderer().render(picture(host)).split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines[2...3]), ["05  A     A", "06  A-    A?"])
        XCTAssertTrue(lines.contains("  ?     a queue device bound to no driver (X?: in mdev X's matrix)"))
    }

    func testColourWrapsTokensAndKeepsTheLayout() throws {
        let p = picture(try Hosts.sourceWithGuest())
        let coloured = TextRenderer(colour: true).render(p)
        XCTAssertTrue(coloured.contains("\u{1B}[1;32mA*\u{1B}[0m"))
        let stripped = coloured.replacingOccurrences(of: #"\u001B\[[0-9;]*m"#, with: "", options: .regularExpression)
        XCTAssertEqual(stripped, TextRenderer().render(p))
        XCTAssertFalse(TextRenderer().render(p).contains("\u{1B}"))
    }

    func testALargeHostIsCondensedToAScreenful() throws {
        let host = try Hosts.topology("large.yaml")
        let text = TextRenderer().render(picture(host))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(Array(lines[0...4]), [
            "host large: 256 adapters x 256 usage domains (rows: adapters, columns: domains)",
            "condensed: neighbours that look alike merged into ranges (1 of 256 rows, 1 of 256 columns)",
            "",
            "       0000-00ff",
            "00-ff  host",
        ])
        XCTAssertLessThan(lines.count, 25)
    }

    func testCondensingKeepsDifferentNeighboursApart() throws {
        let host = try Hosts.topology("large.yaml")
        try host.update { s in
            // Adapters 0x10-0x1f and domains 0x20-0x2f go to vfio_ap; one mdev takes 0x12 x 0x21.
            try s.setAPMask(APMask(ids: Array(0..<256).filter { !(0x10...0x1f).contains($0) }))
            try s.setAQMask(APMask(ids: Array(0..<256).filter { !(0x20...0x2f).contains($0) }))
            try s.createMdev(uuid: Hosts.uuid)
            try s.assign(.adapter, id: 0x12, to: Hosts.uuid)
            try s.assign(.domain, id: 0x21, to: Hosts.uuid)
        }
        let p = picture(host)
        let grid = CondensedGrid(condensing: p)
        // vfio_ap has an APQN unless both masks give it to the host.
        XCTAssertEqual(grid.rows.map { "\($0.first)-\($0.last)" }, ["0-15", "16-17", "18-18", "19-31", "32-255"])
        XCTAssertEqual(grid.columns.map { "\($0.first)-\($0.last)" }, ["0-31", "32-32", "33-33", "34-47", "48-255"])
        let lines = TextRenderer().render(p).split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("       0000-001f  0020  0021  0022-002f  0030-00ff"), lines.joined(separator: "\n"))
        XCTAssertEqual(Array(lines[3...7]), [
            "00-0f  host       vfio  vfio  vfio       host",
            "10-11  vfio       vfio  vfio  vfio       vfio",
            "12     vfio       vfio  A     vfio       vfio",
            "13-1f  vfio       vfio  vfio  vfio       vfio",
            "20-ff  host       vfio  vfio  vfio       host",
        ])
        XCTAssertEqual(TextRenderer(condensing: .never).render(p).split(separator: "\n").count, 1 + 1 + 256 + 6,
                       "expanded: header, domain line, 256 rows, legend")
    }

    func testAnEmptyConfiguration() {
        let p = MatrixPicture(host: "empty", adapters: [], domains: [], mdevs: [], cells: [])
        XCTAssertEqual(TextRenderer().render(p), """
            host empty: 0 adapters x 0 usage domains (rows: adapters, columns: domains)
            no AP queues: no adapter or no usage domain in the configuration

            """)
    }
}
