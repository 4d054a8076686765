import APCore
@testable import Events
import Sysfs
import TestSupport
import XCTest

/// What the kernel announces for each change, in its order, without any
/// socket: the records the event hub would send.
final class UeventBuilderTests: XCTestCase {
    /// The vfio-ap.rst host (default topology).
    func host() throws -> S390Host { try HostBuilder.build(try DefaultTopology.load(), file: "default.yaml") }

    /// The records one update announces.
    func records(_ host: S390Host, _ body: (inout HostState) throws -> Void) rethrows -> [UeventRecord] {
        let hub = EventHub(host: host)
        let before = hub.history.count
        try host.update(body)
        return Array(hub.history.dropFirst(before))
    }

    func lines(_ r: [UeventRecord]) -> [String] {
        r.map { "\($0.action) \($0.devpath) (\($0.subsystem)) \($0.environment.joined(separator: " "))" }
    }

    func testApmaskChangeUnbindsAndBindsThenAnnouncesTheMask() throws {
        let h = try host()
        let r = try records(h) { try $0.setAPMask(APMask.allBut(5)) }
        let mask = "APMASK=" + KernelFormat.mask(APMask.allBut(5)) + "\n"
        var expected: [String] = []
        for d in ["0004", "0047", "00ab", "00ff"] {
            expected.append("unbind /devices/ap/card05/05.\(d) (ap) DEVTYPE=ap_queue MODE=cca")
            expected.append("bind /devices/ap/card05/05.\(d) (ap) DEVTYPE=ap_queue DRIVER=vfio_ap MODE=cca")
        }
        expected.append("change /devices/ap (ap) \(mask)")
        XCTAssertEqual(lines(r), expected)
        XCTAssertEqual(r.map(\.seqnum), Array(1...UInt64(expected.count)), "SEQNUM rises by one per event")
        // An unbound queue bound again completes the bindings again.
        XCTAssertEqual(lines(try records(h) { try $0.unbind(driver: .vfioAP, device: "05.0004") }),
                       ["unbind /devices/ap/card05/05.0004 (ap) DEVTYPE=ap_queue MODE=cca"])
        XCTAssertEqual(lines(try records(h) { try $0.bind(driver: .vfioAP, device: "05.0004") }), [
            "bind /devices/ap/card05/05.0004 (ap) DEVTYPE=ap_queue DRIVER=vfio_ap MODE=cca",
            "change /devices/ap (ap) BINDINGS=complete COMPLETECOUNT=2",
        ])
    }

    func testMdevCreateAndRemove() throws {
        let h = try host()
        let u = "62177883-f1bb-47f0-914d-32a22e3a8804"
        let m = "/devices/vfio_ap/matrix/\(u)"
        XCTAssertEqual(lines(try records(h) { try $0.createMdev(uuid: u) }), [
            "add \(m) (mdev) ",
            "add \(m)/vfio-dev/vfio0 (vfio-dev) ",
            "bind \(m) (mdev) DRIVER=vfio_ap_mdev",
        ])
        XCTAssertEqual(lines(try records(h) { try $0.removeMdev(uuid: u) }), [
            "remove \(m)/vfio-dev/vfio0 (vfio-dev) ",
            "unbind \(m) (mdev) ",
            "remove \(m) (mdev) ",
        ])
    }

    func testCardConfigAndOnline() throws {
        let h = try host()
        let r = try records(h) { try $0.setCardConfigured(6, false) }
        XCTAssertEqual(lines(r), ["change /devices/ap/card06 (ap) CONFIG=0 DEVTYPE=ap_card DRIVER=cex4card DEV_TYPE=000B MODALIAS=ap:t0B MODE=accel"]
            + ["0004", "0047", "00ab", "00ff"].map { "change /devices/ap/card06/06.\($0) (ap) CONFIG=0 DEVTYPE=ap_queue DRIVER=cex4queue MODE=accel" })
        let o = try records(h) { try $0.setCardOnline(5, false) }
        XCTAssertEqual(o.map(\.devpath), ["/devices/ap/card05"] + ["0004", "0047", "00ab", "00ff"].map { "/devices/ap/card05/05.\($0)" })
        XCTAssertEqual(o.map { $0.environment.first }, Array(repeating: "ONLINE=0", count: 5))
    }

    func testSyntheticEvents() throws {
        let h = try host()
        let r = try records(h) { s in
            try s.synthesizeUevent(devpath: "/devices/ap/card05", object: .card(5), Array("change\n".utf8))
            try s.synthesizeUevent(devpath: "/devices/ap/card05/05.0004", object: .queue(APQN(card: 5, domain: 4)),
                                   Array("add 0e1c2a9b-0f7e-4d34-9d52-3c1f6a0b7f11 A=1 bb=x\n".utf8))
            try s.synthesizeUevent(devpath: "/devices/vfio_ap", object: nil, Array("change".utf8))
            try s.synthesizeUevent(devpath: "/bus/ap", object: .bus("ap"), Array("change".utf8))
        }
        XCTAssertEqual(lines(r), [
            "change /devices/ap/card05 (ap) SYNTH_UUID=0 DEVTYPE=ap_card DRIVER=cex4card DEV_TYPE=000B MODALIAS=ap:t0B MODE=cca",
            "add /devices/ap/card05/05.0004 (ap) SYNTH_UUID=0e1c2a9b-0f7e-4d34-9d52-3c1f6a0b7f11 SYNTH_ARG_A=1 SYNTH_ARG_bb=x DEVTYPE=ap_queue DRIVER=cex4queue MODE=cca",
            "change /bus/ap (bus) SYNTH_UUID=0",
        ])
        // A refused write announces nothing.
        XCTAssertEqual(try records(h) { s in
            XCTAssertThrowsError(try s.synthesizeUevent(devpath: "/devices/ap", object: .apRoot, Array("bogus".utf8)))
        }, [])
    }

    func testUdevMessageLayout() throws {
        let r = UeventRecord(action: "bind", devpath: "/devices/ap/card05/05.0004", subsystem: "ap",
                             environment: ["DEVTYPE=ap_queue", "DRIVER=vfio_ap", "MODE=cca"], seqnum: 7)
        let m = UdevMessage.encode(r, usecInitialized: 42)
        XCTAssertEqual(Array(m.prefix(8)), Array("libudev\0".utf8))
        XCTAssertEqual(Array(m[8..<12]), [0xfe, 0xed, 0xca, 0xfe])
        let body = String(decoding: m.dropFirst(UdevMessage.headerSize), as: UTF8.self)
        XCTAssertEqual(body.split(separator: "\0", omittingEmptySubsequences: false).dropLast(),
                       ["ACTION=bind", "DEVPATH=/devices/ap/card05/05.0004", "SUBSYSTEM=ap", "DEVTYPE=ap_queue",
                        "DRIVER=vfio_ap", "MODE=cca", "SEQNUM=7", "USEC_INITIALIZED=42"])
        let words = stride(from: 12, to: 40, by: 4).map { i in m[i..<i + 4] }
        XCTAssertEqual(words[0].withUnsafeBytes { $0.load(as: UInt32.self) }, 40, "header_size, host order")
        XCTAssertEqual(words[1].withUnsafeBytes { $0.load(as: UInt32.self) }, 40, "properties_off")
        XCTAssertEqual(Int(words[2].withUnsafeBytes { $0.load(as: UInt32.self) }), m.count - 40, "properties_len")
        // MurmurHash2 reference values (Austin Appleby's, seed 0).
        XCTAssertEqual(UdevMessage.murmurHash2([]), 0)
        XCTAssertEqual(UdevMessage.murmurHash2(Array("ap".utf8)),
                       UInt32(bigEndian: words[3].withUnsafeBytes { $0.load(as: UInt32.self) }))
    }
}
