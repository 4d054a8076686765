import Foundation
import TestSupport
import XCTest

/// `vfio-ap-sim migrate` of a guest whose stream is more than one of
/// QEMU's 32 KiB writes: 9 adapters x 256 domains = 2,304 APQNs, a stream
/// of 8 + 16 x 2,304 = 36,872 bytes. Each write goes through the control
/// socket as hex, so its request line is more than 64 KiB.
final class LargeMigrationTests: LabTestCase {
    let u = exampleUUID

    /// Both hosts: the same adapters and domains, every queue on vfio_ap,
    /// all of them in the one mdev.
    func largeTopology(adapters count: Int = 9) -> String {
        let adapters = (0..<count).map { String(format: "  - {id: 0x%02x, type: CEX7, mode: cca}", $0) }
        let domains = (0..<256).map { String(format: "0x%02x", $0) }.joined(separator: ", ")
        return """
            name: many-apqns
            machine:
              facilities: [APSC, APXA, QACT, RC8A]
              ap_max_adapter_id: 255
              ap_max_domain_id: 255
            adapters:
            \(adapters.joined(separator: "\n"))
            usage_domains: [\(domains)]
            ap_bus:
              apmask: "0x00"
              aqmask: "0x00"
            mdevs:
              - uuid: \(u)
                adapters: [\((0..<count).map(String.init).joined(separator: ", "))]
                domains: [\(domains)]

            """
    }

    func testAGuestWithMoreThan2047APQNsMigrates() throws {
        let topology = try lab.topologyFile("many-apqns.yaml", largeTopology())
        let src = try lab.start("src", topology: topology)
        let dst = try lab.start("dst", topology: topology)
        try ok("guest", "start", "--host", "src", "g1", u)
        XCTAssertEqual(src.queueStatus("08.00ff"), "in use")
        XCTAssertEqual(try ok("migration", "data-size", "--host", "src", u), ["36872"])

        let started = Date()
        let r = try lab.cli(["migrate", "--from", "src", "--to", "dst", "--guest", "g1"], timeout: 60)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.lines, ["Migration of guest 'g1' from 'src' to 'dst' completed"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        XCTAssertEqual(try guestList("dst"), ["g1 running \(u)"])
        XCTAssertEqual(try guestList("src"), [])
        XCTAssertEqual(dst.queueStatus("00.0000"), "in use")
        XCTAssertEqual(dst.queueStatus("08.00ff"), "in use")
        XCTAssertEqual(src.queueStatus("08.00ff"), "assigned")
        XCTAssertEqual(dst.queueStatus("04.0080"), "in use")
        XCTAssertEqual(try ok("migration", "get-state", "--host", "dst", u), ["RUNNING"])
    }

    /// A `--chunk` past what one request line holds is split by the client
    /// into several writes, which the resume stream takes: 17 x 256 APQNs,
    /// a 69,640-byte stream in one write of up to 1 MiB.
    func testAChunkLargerThanARequestLineIsSplit() throws {
        let topology = try lab.topologyFile("many-apqns.yaml", largeTopology(adapters: 17))
        _ = try lab.start("src", topology: topology)
        _ = try lab.start("dst", topology: topology)
        try ok("guest", "start", "--host", "src", "g1", u)
        let r = try lab.cli(["migrate", "--from", "src", "--to", "dst", "--guest", "g1", "--chunk", "\(1 << 20)"], timeout: 60)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(try guestList("dst"), ["g1 running \(u)"])
    }
}
