import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import XCTest

/// `vfio-ap-sim hw` against mounted hosts with a running guest: the bytes
/// the emulated sysfs shows after each change, what the guest sees, the
/// kernel log, and a live migration after it (ap_bus.c `ap_scan_bus`,
/// vfio_ap_ops.c `vfio_ap_on_cfg_changed`, `vfio_ap_on_scan_complete`).
final class RuntimeHardwareTests: LabTestCase {
    let u = exampleUUID
    var mdev: String { "devices/vfio_ap/matrix/\(u)" }

    func mask(_ leading: String) -> String { "0x" + leading + String(repeating: "0", count: 64 - leading.count) }

    func listing(_ host: MountFixture, _ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: host.path(dir))) ?? []).sorted()
    }

    func exists(_ host: MountFixture, _ relative: String) -> Bool { FileManager.default.fileExists(atPath: host.path(relative)) }

    /// `guest show`: the masks and each row's CARD.DOMAIN and STATUS.
    func view(_ host: String, _ guest: String = "g1", file: StaticString = #filePath, line: UInt = #line) throws -> (apm: String, aqm: String, rows: [String]) {
        let lines = try ok("guest", "show", "--host", host, guest, file: file, line: line)
        func value(_ p: String) -> String { lines.first { $0.hasPrefix(p + ": ") }.map { String($0.dropFirst(p.count + 2)) } ?? "?" }
        let rows = lines.drop { !$0.hasPrefix("----") }.dropFirst().map { l -> String in
            let words = l.split(separator: " ")
            return "\(words.first!) \(words.last!)"
        }
        return (value("APM"), value("AQM"), rows)
    }

    func hw(_ host: String, _ words: String..., file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try lab.cli(["hw"] + words + ["--host", host], file: file, line: line)
        XCTAssertEqual(r.status, 0, "hw \(words.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
    }

    func testARunningGuestLosesAndRegainsAnAdapter() throws {
        let (src, _) = try startMigrationHosts()
        try ok("guest", "start", "--host", "src", "g1", u)
        let log = try lab.kernelLog("src")
        XCTAssertEqual(src.read("bus/ap/ap_adapter_mask"), mask("06"))

        try hw("src", "adapter", "remove", "0x06")
        XCTAssertEqual(src.read("bus/ap/ap_adapter_mask"), mask("04"))
        XCTAssertEqual(listing(src, "bus/ap/devices"), ["05.0004", "05.00ab", "card05"])
        XCTAssertEqual(listing(src, "devices/ap").filter { $0.hasPrefix("card") }, ["card05"])
        XCTAssertEqual(listing(src, "bus/ap/drivers/vfio_ap").filter { $0.contains(".") }, ["05.0004", "05.00ab"])
        XCTAssertFalse(exists(src, "devices/ap/card06"))
        XCTAssertEqual(src.read("bus/ap/bindings"), "2/2 (complete)")
        XCTAssertEqual(src.read(mdev + "/matrix"), "05.0004\n05.00ab\n06.0004\n06.00ab", "the mdev keeps its assignments")
        XCTAssertEqual(src.read(mdev + "/guest_matrix"), "05.0004\n05.00ab")
        var v = try view("src")
        XCTAssertEqual(v.apm, mask("04"))
        XCTAssertEqual(v.rows, ["05 online", "05.0004 online", "05.00ab online"])
        XCTAssertEqual(src.queueStatus("05.0004"), "in use")
        XCTAssertEqual(try ok("guest", "info", "--host", "src", "g1"), ["\(u) auto running"])
        XCTAssertEqual(try lab.kernelLog("src"), log, "the kernel prints nothing for it")

        try hw("src", "adapter", "add", "6")
        XCTAssertEqual(src.read("bus/ap/ap_adapter_mask"), mask("06"))
        XCTAssertEqual(listing(src, "bus/ap/devices"), ["05.0004", "05.00ab", "06.0004", "06.00ab", "card05", "card06"])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: src.path("devices/ap/card06/06.00ab/driver")),
                       "../../../../bus/ap/drivers/vfio_ap")
        XCTAssertEqual(src.read("devices/ap/card06/config"), "1")
        XCTAssertEqual(src.read("devices/ap/card06/online"), "1")
        XCTAssertEqual(src.read("devices/ap/card06/06.0004/request_count"), "0")
        XCTAssertEqual(src.read("bus/ap/bindings_complete_count"), "2")
        XCTAssertEqual(src.read(mdev + "/guest_matrix"), "05.0004\n05.00ab\n06.0004\n06.00ab")
        XCTAssertEqual(src.queueStatus("06.00ab"), "in use")
        v = try view("src")
        XCTAssertEqual(v.apm, mask("06"))
        XCTAssertEqual(v.rows, ["05 online", "05.0004 online", "05.00ab online", "06 online", "06.0004 online", "06.00ab online"])
        XCTAssertEqual(try lab.kernelLog("src"), log)

        // Refused changes answer on stderr and change nothing.
        let r = try lab.cli("hw", "adapter", "add", "6", "--host", "src")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "vfio-ap-sim: adapter 06 is in the AP configuration already\n")
        let bad = try lab.cli("hw", "adapter", "add", "zz", "--host", "src")
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr, "vfio-ap-sim: 'zz' is not an adapter or domain ID (decimal, or hexadecimal after 0x)\n")
    }

    /// The domain leaves the source's configuration: the guest loses it,
    /// the mdev keeps it (so another mdev's ap_config may not take it), and
    /// a migration fails as the seed's validation decides until it is back.
    func testARunningGuestLosesAndRegainsADomain() throws {
        let (src, _) = try startMigrationHosts()
        try ok("guest", "start", "--host", "src", "g1", u)
        try hw("src", "domain", "remove", "0xab")
        XCTAssertEqual(src.read("bus/ap/ap_usage_domain_mask"), mask("08"))
        XCTAssertEqual(src.read("bus/ap/ap_control_domain_mask"), mask("0800000000000000000000000000000000000000001"),
                       "control domains are a mask of their own")
        XCTAssertEqual(listing(src, "bus/ap/devices"), ["05.0004", "06.0004", "card05", "card06"])
        XCTAssertEqual(src.read(mdev + "/guest_matrix"), "05.0004\n06.0004", "both adapters stay")
        XCTAssertEqual(src.read(mdev + "/matrix"), "05.0004\n05.00ab\n06.0004\n06.00ab")
        XCTAssertEqual(try view("src").rows, ["05 online", "05.0004 online", "06 online", "06.0004 online"])
        XCTAssertEqual(try view("src").aqm, mask("08"))

        let other = "4b0d2a3e-57c1-4a39-9dbd-0b3f1e1c2a77"
        XCTAssertNil(src.write("devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create", other))
        XCTAssertEqual(src.write("devices/vfio_ap/matrix/\(other)/ap_config", "0x04,0x\(String(repeating: "0", count: 42))1,0x00\n"), EADDRINUSE)
        XCTAssertEqual(Array(try lab.kernelLog("src").suffix(1)),
                       ["vfio_ap_mdev \(other): Userspace may not assign queue 05.00ab to mdev: already assigned to \(u)"])

        let failed = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(failed.status, 1)
        XCTAssertEqual(failed.stderr, "error: operation failed: job 'migration in' failed: load of migration failed: No such device\n")
        XCTAssertTrue(try lab.kernelLog("dst").contains(
            "vfio_ap_mdev \(u): migration failed: number of queues on source (2) and target (4) guests differ"))
        XCTAssertEqual(try guestList("src"), ["g1 running \(u)"])

        try hw("src", "domain", "add", "0xab")
        XCTAssertEqual(listing(src, "bus/ap/devices"), ["05.0004", "05.00ab", "06.0004", "06.00ab", "card05", "card06"])
        XCTAssertEqual(src.read(mdev + "/guest_matrix"), "05.0004\n05.00ab\n06.0004\n06.00ab")
        XCTAssertEqual(src.queueStatus("05.00ab"), "in use")
        let done = try lab.cli("migrate", "--from", "src", "--to", "dst", "--guest", "g1")
        XCTAssertEqual(done.status, 0, done.stderr)
        XCTAssertEqual(try guestList("dst"), ["g1 running \(u)"])
    }

    func testACheckstopWhileTheGuestRunsAndANoticeAtTheNextScan() throws {
        let (src, _) = try startMigrationHosts()
        try ok("guest", "start", "--host", "src", "g1", u)
        let log = try lab.kernelLog("src")
        let scans = Int(src.read("bus/ap/scans") ?? "") ?? -1

        // The machine checkstops the card; the kernel learns at its next scan.
        try hw("src", "card", "checkstop", "5", "--no-scan")
        XCTAssertEqual(src.read("devices/ap/card05/chkstop"), "0")
        XCTAssertEqual(try view("src").rows.first, "05 checkstop", "the guest meets the checkstop at once")
        XCTAssertTrue(try ok("hw", "show", "--host", "src").contains("scan pending: yes"))
        XCTAssertNil(src.write("bus/ap/scans", "1\n"))
        XCTAssertEqual(Int(src.read("bus/ap/scans") ?? ""), scans + 1)
        for f in ["devices/ap/card05/chkstop", "devices/ap/card05/05.0004/chkstop", "devices/ap/card05/05.00ab/chkstop"] {
            XCTAssertEqual(src.read(f), "1", f)
        }
        XCTAssertEqual(src.read("devices/ap/card05/config"), "1")
        XCTAssertEqual(src.read("devices/ap/card05/05.0004/config"), "1")
        XCTAssertEqual(src.read("devices/ap/card05/online"), "0", "zcrypt: online needs no checkstop")
        // vfio_ap is not told: the queues stay the guest's.
        XCTAssertEqual(src.read(mdev + "/guest_matrix"), "05.0004\n05.00ab\n06.0004\n06.00ab")
        XCTAssertEqual(src.queueStatus("05.0004"), "in use")
        XCTAssertEqual(try view("src").rows, ["05 checkstop", "05.0004 checkstop", "05.00ab checkstop",
                                               "06 online", "06.0004 online", "06.00ab online"])
        XCTAssertTrue(try ok("hw", "show", "--host", "src").contains("scan pending: no"))

        try hw("src", "card", "clear", "5")
        XCTAssertEqual(src.read("devices/ap/card05/chkstop"), "0")
        XCTAssertEqual(src.read("devices/ap/card05/05.00ab/chkstop"), "0")
        XCTAssertEqual(src.read("devices/ap/card05/05.00ab/reset"), "No Reset Timer set.")
        XCTAssertEqual(try view("src").rows.first, "05 online")
        XCTAssertEqual(try lab.kernelLog("src"), log)
    }

    func testSCLPDeconfiguresACardOfARunningGuest() throws {
        let (src, _) = try startMigrationHosts()
        try ok("guest", "start", "--host", "src", "g1", u)
        try hw("src", "card", "deconfigure", "6")
        XCTAssertEqual(src.read("devices/ap/card06/config"), "0")
        XCTAssertEqual(src.read("devices/ap/card06/06.0004/config"), "0")
        XCTAssertEqual(src.read("devices/ap/card06/06.0004/chkstop"), "0")
        XCTAssertEqual(listing(src, "bus/ap/devices").count, 6, "a deconfigured card keeps its devices")
        XCTAssertEqual(src.read(mdev + "/guest_matrix"), "05.0004\n05.00ab\n06.0004\n06.00ab")
        XCTAssertEqual(try view("src").rows.suffix(3), ["06 deconfig", "06.0004 deconfig", "06.00ab deconfig"])
        // The card's config file is SCLP too.
        XCTAssertNil(src.write("devices/ap/card06/config", "1\n"))
        XCTAssertEqual(src.read("devices/ap/card06/06.00ab/config"), "1")
        XCTAssertEqual(try view("src").rows.suffix(1), ["06.00ab online"])
        XCTAssertTrue(try ok("hw", "show", "--host", "src").contains("adapter 06: in the configuration, configured"))
    }
}
