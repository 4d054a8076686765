import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import XCTest

/// Dynamic configuration of a running guest through a mounted host: what the
/// guest sees (`guest show`) and the queues' vfio_ap `status` after each
/// change, and `echo 1 > remove` with a guest that honours the device request
/// and with one that ignores it.
final class HotPlugTests: LabTestCase {
    let u = exampleUUID
    var host: MountFixture!
    var mdev: String { "devices/vfio_ap/matrix/\(u)" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        host = try lab.start("hp", topology: Paths.topology("hotplug.yaml"))
    }

    /// `guest show`: the three masks and the CARD.DOMAIN column.
    func view(_ guest: String, file: StaticString = #filePath, line: UInt = #line) throws -> (apm: String, aqm: String, adm: String, rows: [String]) {
        let lines = try ok("guest", "show", "--host", "hp", guest, file: file, line: line)
        func mask(_ p: String) -> String { lines.first { $0.hasPrefix(p + ": ") }.map { String($0.dropFirst(p.count + 2)) } ?? "?" }
        let rows = lines.drop { !$0.hasPrefix("----") }.dropFirst().map { String($0.split(separator: " ")[0]) }
        return (mask("APM"), mask("AQM"), mask("ADM"), rows)
    }

    func mask(_ leading: String) -> String { "0x" + leading + String(repeating: "0", count: 64 - leading.count) }

    func write(_ relative: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNil(host.write(relative, text), "echo \(text) > \(relative)", file: file, line: line)
    }

    func testAssignmentsApConfigAndMasksArePluggedIntoTheRunningGuest() throws {
        try ok("guest", "start", "--host", "hp", "g1", u)
        XCTAssertEqual(try view("g1").rows, [])
        XCTAssertEqual(host.queueStatus("05.0004"), "unassigned")

        write(mdev + "/assign_adapter", "5\n")
        write(mdev + "/assign_domain", "4\n")
        XCTAssertEqual(try view("g1").rows, ["05", "05.0004"])
        XCTAssertEqual(host.queueStatus("05.0004"), "in use")
        XCTAssertEqual(host.queueStatus("06.0004"), "unassigned")

        write(mdev + "/assign_adapter", "6\n")
        write(mdev + "/assign_domain", "0xab\n")
        write(mdev + "/assign_control_domain", "0xab\n")
        var v = try view("g1")
        XCTAssertEqual(v.rows, ["05", "05.0004", "05.00ab", "06", "06.0004", "06.00ab"])
        XCTAssertEqual(v.apm, mask("06"))
        XCTAssertEqual(v.aqm, mask("0800000000000000000000000000000000000000001"))
        XCTAssertEqual(v.adm, mask("0000000000000000000000000000000000000000001"))
        XCTAssertEqual(host.queueStatus("06.00ab"), "in use")

        // Adapter 7 is the host's (apmask): EADDRNOTAVAIL.
        XCTAssertEqual(host.write(mdev + "/assign_adapter", "7\n"), EADDRNOTAVAIL)
        // Given to vfio_ap, it can be assigned and is hot-plugged.
        write("bus/ap/apmask", "-7\n")
        XCTAssertEqual(host.queueStatus("07.0004"), "unassigned")
        write(mdev + "/assign_adapter", "7\n")
        XCTAssertEqual(try view("g1").rows, ["05", "05.0004", "05.00ab", "06", "06.0004", "06.00ab", "07", "07.0004", "07.00ab"])
        XCTAssertEqual(host.queueStatus("07.00ab"), "in use")
        // Taking it back for the host while assigned: EBUSY, the guest keeps it.
        XCTAssertEqual(host.write("bus/ap/apmask", "+7\n"), EBUSY)
        let log = try lab.kernelLog("hp")
        XCTAssertEqual(Array(log.suffix(2)), [
            "vfio_ap_mdev \(u): Can not reserve queue 07.0004 for host driver: in use by mdev",
            "vfio_ap_mdev \(u): Can not reserve queue 07.00ab for host driver: in use by mdev",
        ])
        XCTAssertEqual(try view("g1").rows.count, 9)
        // Unassigned first, then apmask takes the queues away from vfio_ap.
        write(mdev + "/unassign_adapter", "7\n")
        XCTAssertEqual(try view("g1").rows, ["05", "05.0004", "05.00ab", "06", "06.0004", "06.00ab"])
        XCTAssertEqual(host.queueStatus("07.0004"), "unassigned")
        write("bus/ap/apmask", "+7\n")
        XCTAssertNil(host.queueStatus("07.0004"), "no vfio_ap status once cex4queue has the queue")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: host.path("devices/ap/card07/07.0004/driver")),
                       "../../../../bus/ap/drivers/cex4queue")

        // A queue leaving vfio_ap unplugs its whole adapter (vfio_ap_mdev_remove_queue).
        write("bus/ap/drivers/vfio_ap/unbind", "06.00ab\n")
        XCTAssertEqual(try view("g1").rows, ["05", "05.0004", "05.00ab"])
        XCTAssertEqual(host.queueStatus("06.0004"), "assigned")
        XCTAssertEqual(host.read(mdev + "/guest_matrix"), "05.0004\n05.00ab")
        write("bus/ap/drivers/vfio_ap/bind", "06.00ab\n")
        XCTAssertEqual(try view("g1").rows, ["05", "05.0004", "05.00ab", "06", "06.0004", "06.00ab"])
        XCTAssertEqual(host.queueStatus("06.0004"), "in use")

        // ap_config: adapters 5,6, domain 4, control domain 4 in one write.
        write(mdev + "/ap_config", "0x06,0x08,0x08\n")
        v = try view("g1")
        XCTAssertEqual(v.rows, ["05", "05.0004", "06", "06.0004"])
        XCTAssertEqual(v.aqm, mask("08"))
        XCTAssertEqual(v.adm, mask("08"))
        XCTAssertEqual(host.queueStatus("05.00ab"), "unassigned")
        XCTAssertEqual(host.read(mdev + "/ap_config"), [mask("06"), mask("08"), mask("08")].joined(separator: ","))
        // Refused as a whole: nothing changes.
        XCTAssertEqual(host.write(mdev + "/ap_config", "0x07,0x08,0x08\n"), EADDRNOTAVAIL)
        XCTAssertEqual(try view("g1").rows, ["05", "05.0004", "06", "06.0004"])

        // Unassigning a domain unplugs it; the guest stops: queues only assigned.
        write(mdev + "/unassign_domain", "4\n")
        XCTAssertEqual(try view("g1").rows, ["05", "06"])
        write(mdev + "/assign_domain", "4\n")
        XCTAssertEqual(host.queueStatus("05.0004"), "in use")
        try ok("guest", "stop", "--host", "hp", "g1")
        XCTAssertEqual(host.queueStatus("05.0004"), "assigned")
    }

    func testRemoveIsRelayedToTheGuestWhichReleasesTheMdev() throws {
        write(mdev + "/ap_config", "0x06,0x08,0x08\n")
        try ok("guest", "start", "--host", "hp", "g1", u)
        XCTAssertEqual(host.queueStatus("05.0004"), "in use")
        let started = Date()
        write(mdev + "/remove", "1\n")
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "remove completes at once")
        XCTAssertFalse(FileManager.default.fileExists(atPath: host.path(mdev)))
        XCTAssertEqual(try guestList("hp"), ["g1 running -"], "the guest unplugged the device and runs on")
        let v = try view("g1")
        XCTAssertEqual(v.apm, mask("0"))
        XCTAssertEqual(v.rows, [])
        XCTAssertEqual(host.queueStatus("05.0004"), "unassigned")
        let log = try lab.kernelLog("hp")
        XCTAssertTrue(log.contains("vfio_ap_mdev \(u): Relaying device request to user (#0)"), log.joined(separator: "\n"))
        XCTAssertEqual(log.last, "vfio_ap_mdev \(u): Removing from iommu group 0")
        XCTAssertEqual(host.read("devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/available_instances"), "65536")
    }

    func testRemoveBlocksWhileAnIgnoringGuestHoldsTheMdevUntilItStops() throws {
        write(mdev + "/ap_config", "0x06,0x08,0x08\n")
        try ok("guest", "start", "--host", "hp", "--ignore-requests", "g1", u)
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        let path = host.path(mdev + "/remove")
        Thread.detachNewThread {
            let fd = open(path, O_WRONLY)
            if fd < 0 { result.set(errno) } else {
                let n = Glibc.write(fd, "1\n", 2)
                result.set(n < 0 ? errno : 0)
                close(fd)
            }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 1.5), .timedOut, "remove must block while the guest holds the mdev")
        XCTAssertTrue(FileManager.default.fileExists(atPath: host.path(mdev)))
        XCTAssertEqual(try guestList("hp"), ["g1 running \(u)"])
        XCTAssertEqual(try view("g1").rows, [], "the relayed request cleared the guest's masks")
        XCTAssertTrue(try lab.kernelLog("hp").contains("vfio_ap_mdev \(u): Relaying device request to user (#0)"))

        try ok("guest", "stop", "--host", "hp", "g1")
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success, "remove completes once the guest stopped")
        XCTAssertEqual(result.value, 0, "remove's write succeeded")
        XCTAssertFalse(FileManager.default.fileExists(atPath: host.path(mdev)))
        XCTAssertEqual(try guestList("hp"), [])
        XCTAssertEqual(host.queueStatus("05.0004"), "unassigned")
        XCTAssertEqual(try lab.kernelLog("hp").last, "vfio_ap_mdev \(u): Removing from iommu group 0")
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var v: Int32 = -1
    func set(_ x: Int32) { lock.lock(); v = x; lock.unlock() }
    var value: Int32 { lock.lock(); defer { lock.unlock() }; return v }
}
