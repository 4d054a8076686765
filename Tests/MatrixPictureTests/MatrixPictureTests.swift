import APCore
import MatrixPicture
import XCTest

/// The picture made from host states: each cell's owner, use and state.
final class MatrixPictureTests: XCTestCase {
    func picture(_ host: S390Host) -> MatrixPicture { host.read { MatrixPicture($0, name: host.name) } }

    func summary(_ p: MatrixPicture) -> [String] {
        p.cells.map { c in
            [c.apqn, c.owner.rawValue, c.mdev, c.use?.rawValue, c.state.rawValue].compactMap { $0 }.joined(separator: " ")
        }
    }

    func testTheDefaultHostIsAllHostDrivers() throws {
        let p = picture(try Hosts.default())
        XCTAssertEqual(p.adapters, [5, 6])
        XCTAssertEqual(p.domains, [4, 0x47, 0xab, 0xff])
        XCTAssertEqual(p.mdevs, [])
        XCTAssertEqual(p.cells.count, 8)
        XCTAssertTrue(p.cells.allSatisfy { $0.owner == .hostDriver && $0.state == .online && $0.mdev == nil })
        XCTAssertEqual(p.cell(adapter: 6, domain: 0xab)?.apqn, "06.00ab")
    }

    func testVfioApQueuesWithAndWithoutAnMdev() throws {
        let host = try Hosts.default()
        try host.update { s in
            try s.setAPMask(APMask(ids: [0, 1, 2, 3, 4, 6]))
            try s.setAQMask(APMask(ids: [0x47, 0xff]))
            try s.createMdev(uuid: Hosts.uuid)
            try s.assign(.adapter, id: 5, to: Hosts.uuid)
            try s.assign(.domain, id: 4, to: Hosts.uuid)
        }
        XCTAssertEqual(summary(picture(host)), [
            "05.0004 mdev A assigned online", "05.0047 vfio_ap online", "05.00ab vfio_ap online", "05.00ff vfio_ap online",
            "06.0004 vfio_ap online", "06.0047 host-driver online", "06.00ab vfio_ap online", "06.00ff host-driver online",
        ])
        XCTAssertEqual(picture(host).mdevs, [MdevLabel(letter: "A", uuid: Hosts.uuid)])
    }

    func testAGuestUsesItsQueues() throws {
        let p = picture(try Hosts.sourceWithGuest())
        XCTAssertEqual(summary(p), ["05.0004 mdev A in-use online", "05.00ab mdev A in-use online",
                                    "06.0004 mdev A in-use online", "06.00ab mdev A in-use online"])
        XCTAssertEqual(p.mdevs, [MdevLabel(letter: "A", uuid: Hosts.uuid, guest: "g1", guestState: "running")])
        let host = try Hosts.sourceWithGuest()
        host.update { $0.setGuestPaused("g1", true) }
        XCTAssertEqual(picture(host).mdevs.first?.guestState, "paused")
        XCTAssertEqual(picture(host).cells.first?.use, .inUse, "a paused guest still has its queues")
    }

    func testARemovedAdapterStaysAsARowOfItsMdev() throws {
        let host = try Hosts.sourceWithGuest()
        try host.update { try $0.applyHardwareChange(.removeAdapter(6)) }
        XCTAssertEqual(summary(picture(host)), ["05.0004 mdev A in-use online", "05.00ab mdev A in-use online",
                                                "06.0004 mdev A filtered absent", "06.00ab mdev A filtered absent"])
    }

    func testCheckstopDeconfigureAndOffline() throws {
        let host = try Hosts.default()
        try host.update { s in
            try s.applyHardwareChange(.checkstopCard(5))
            try s.setQueueOnline(APQN(card: 6, domain: 4), false)
        }
        var p = picture(host)
        XCTAssertEqual(p.cell(adapter: 5, domain: 4)?.state, .checkstopped)
        XCTAssertEqual(p.cell(adapter: 6, domain: 4)?.state, .offline)
        XCTAssertEqual(p.cell(adapter: 6, domain: 0x47)?.state, .online)
        let other = try Hosts.default()
        try other.update { s in try s.applyHardwareChange(.deconfigureCard(5)) }
        p = picture(other)
        XCTAssertEqual(p.cell(adapter: 5, domain: 0xff)?.state, .deconfigured)
        XCTAssertEqual(p.cell(adapter: 5, domain: 0xff)?.owner, .hostDriver)
    }

    func testALargeHostHasEveryCell() throws {
        let p = picture(try Hosts.topology("large.yaml"))
        XCTAssertEqual(p.adapters.count, 256)
        XCTAssertEqual(p.domains.count, 256)
        XCTAssertEqual(p.cells.count, 65_536)
        XCTAssertEqual(p.cell(row: 255, column: 255).apqn, "ff.00ff")
    }
}
