import APCore
@testable import Events
import Sysfs
import TestSupport
import XCTest

/// The uevents of a bus scan after a hardware change, in the kernel's
/// order: `device_del` sends KOBJ_UNBIND then KOBJ_REMOVE of every queue
/// and then of the card (`ap_scan_rm_card_dev_and_queue_devs`);
/// `device_add` sends KOBJ_ADD, the probe KOBJ_BIND, card first.
final class HardwareChangeEventTests: XCTestCase {
    let domains = ["0004", "0047", "00ab", "00ff"]

    func host() throws -> S390Host { try HostBuilder.build(try DefaultTopology.load(), file: "default.yaml") }

    func records(_ host: S390Host, _ body: (inout HostState) throws -> Void) rethrows -> [String] {
        let hub = EventHub(host: host)
        let before = hub.history.count
        try host.update(body)
        return hub.history.dropFirst(before).map { "\($0.action) \($0.devpath) \($0.environment.joined(separator: " "))" }
    }

    func testAdapterRemovedThenAdded() throws {
        let h = try host()
        let card = "DEVTYPE=ap_card DEV_TYPE=000B MODALIAS=ap:t0B MODE=accel"
        var removed: [String] = []
        for d in domains {
            removed += ["unbind /devices/ap/card06/06.\(d) DEVTYPE=ap_queue MODE=accel",
                        "remove /devices/ap/card06/06.\(d) DEVTYPE=ap_queue MODE=accel"]
        }
        removed += ["unbind /devices/ap/card06 DEVTYPE=ap_card DEV_TYPE=000B MODE=accel", "remove /devices/ap/card06 \(card)"]
        XCTAssertEqual(try records(h) { try $0.applyHardwareChange(.removeAdapter(6)) }, removed)

        var added = ["add /devices/ap/card06 \(card)",
                     "bind /devices/ap/card06 DEVTYPE=ap_card DRIVER=cex4card DEV_TYPE=000B MODALIAS=ap:t0B MODE=accel"]
        for d in domains {
            added += ["add /devices/ap/card06/06.\(d) DEVTYPE=ap_queue MODE=accel",
                      "bind /devices/ap/card06/06.\(d) DEVTYPE=ap_queue DRIVER=cex4queue MODE=accel"]
        }
        added.append("change /devices/ap BINDINGS=complete COMPLETECOUNT=2")
        XCTAssertEqual(try records(h) { try $0.applyHardwareChange(.addAdapter(6)) }, added)
    }

    func testDomainRemovedThenAdded() throws {
        let h = try host()
        XCTAssertEqual(try records(h) { try $0.applyHardwareChange(.removeDomain(0xab)) }, [
            "unbind /devices/ap/card05/05.00ab DEVTYPE=ap_queue MODE=cca", "remove /devices/ap/card05/05.00ab DEVTYPE=ap_queue MODE=cca",
            "unbind /devices/ap/card06/06.00ab DEVTYPE=ap_queue MODE=accel", "remove /devices/ap/card06/06.00ab DEVTYPE=ap_queue MODE=accel",
        ])
        XCTAssertEqual(try records(h) { try $0.applyHardwareChange(.addDomain(0xab)) }, [
            "add /devices/ap/card05/05.00ab DEVTYPE=ap_queue MODE=cca",
            "bind /devices/ap/card05/05.00ab DEVTYPE=ap_queue DRIVER=cex4queue MODE=cca",
            "add /devices/ap/card06/06.00ab DEVTYPE=ap_queue MODE=accel",
            "bind /devices/ap/card06/06.00ab DEVTYPE=ap_queue DRIVER=cex4queue MODE=accel",
            "change /devices/ap BINDINGS=complete COMPLETECOUNT=2",
        ])
        // Control domains have no devices: nothing to announce.
        XCTAssertEqual(try records(h) { try $0.applyHardwareChange(.removeControlDomain(0xab)) }, [])
    }

    func testDeconfigureAnnouncesTheCardThenEachQueue_CheckstopNothing() throws {
        let h = try host()
        var expected = ["change /devices/ap/card05 CONFIG=0 DEVTYPE=ap_card DRIVER=cex4card DEV_TYPE=000B MODALIAS=ap:t0B MODE=cca"]
        for d in domains { expected.append("change /devices/ap/card05/05.\(d) CONFIG=0 DEVTYPE=ap_queue DRIVER=cex4queue MODE=cca") }
        XCTAssertEqual(try records(h) { try $0.applyHardwareChange(.deconfigureCard(5)) }, expected)
        XCTAssertEqual(try records(h) { try $0.applyHardwareChange(.configureCard(5)) }, expected.map { $0.replacingOccurrences(of: "CONFIG=0", with: "CONFIG=1") })
        // ap_scan_adapter / ap_scan_domains only log a checkstop to s390dbf.
        XCTAssertEqual(try records(h) { try $0.applyHardwareChange(.checkstopCard(5)) }, [])
        XCTAssertEqual(try records(h) { try $0.applyHardwareChange(.clearCheckstop(5)) }, [])
    }

    func testUeventFileOfAGoneCardIsENODEV() throws {
        let h = try host()
        let tree = SysfsTree(host: h)
        XCTAssertEqual(try tree.show("/devices/ap/card06/06.0004/uevent").get().count > 0, true)
        try h.update { try $0.applyHardwareChange(.removeAdapter(6)) }
        XCTAssertEqual(tree.stat("/devices/ap/card06").map { _ in 0 }, .failure(.noSuchFileOrDirectory))
        XCTAssertEqual(tree.stat("/bus/ap/devices/06.0004").map { _ in 0 }, .failure(.noSuchFileOrDirectory))
        XCTAssertNil(UeventObjects.environment(.card(6), h.read { $0 }))
        XCTAssertNil(UeventObjects.environment(.queue(APQN(card: 6, domain: 4)), h.read { $0 }))
    }
}
