import TestSupport
import XCTest

/// The kernel log as `vfio-ap-sim dmesg` prints it inside exec
/// (kernel-sysfs.md §7): printk's `[%5lu.%06lu] ` prefix, then the
/// `dev_*` prefix `<driver> <device>: ` and the kernel's format string.
final class KernelLogTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    static let timestamp = try! NSRegularExpression(pattern: #"^\[ *\d{1,}\.\d{6}\] "#)

    /// Checks every line's timestamp prefix and returns the lines without it.
    func messages(_ log: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        log.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { l in
            let s = String(l)
            let range = NSRange(s.startIndex..., in: s)
            guard let m = Self.timestamp.firstMatch(in: s, range: range) else {
                XCTFail("no [%5lu.%06lu] prefix: \(s.debugDescription)", file: file, line: line)
                return s
            }
            // %5lu: at least five characters before the dot.
            let stamp = String(s[Range(m.range, in: s)!])
            XCTAssertGreaterThanOrEqual(stamp.firstIndex(of: ".")!.utf16Offset(in: stamp) - 1, 5, stamp, file: file, line: line)
            return String(s[Range(m.range, in: s)!.upperBound...])
        }
    }

    /// The log is empty at boot, so dmesg before and after a step isolates
    /// that step's lines.
    func testSharingWarningsAndReservationRefusalsAndIommuGroups() throws {
        let dmesg = "\"$VFIO_AP_SIM\" dmesg"
        let u1 = Expected.uuid1, u2 = Expected.uuid2, u3 = Expected.uuid3
        let r = try ProcessRunner.run([Simulator.binary, "exec", "--", "/bin/bash", "-c", """
            VFIO_AP_SIM=\(Simulator.binary)
            T=\(Expected.typeDir)
            M=/sys/devices/vfio_ap/matrix
            echo -5,-6 > /sys/bus/ap/apmask
            echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask
            echo == boot
            \(dmesg)
            echo == created
            echo \(u1) > $T/create
            echo \(u2) > $T/create
            echo \(u3) > $T/create
            echo 5 > $M/\(u1)/assign_adapter; echo 6 > $M/\(u1)/assign_adapter
            echo 4 > $M/\(u1)/assign_domain; echo 0xab > $M/\(u1)/assign_domain
            echo 5 > $M/\(u2)/assign_adapter; echo 0x47 > $M/\(u2)/assign_domain
            echo 0xff > $M/\(u2)/assign_domain
            \(dmesg)
            echo == sharing
            echo 5 > $M/\(u3)/assign_adapter
            echo 6 > $M/\(u3)/assign_adapter
            echo 4 > $M/\(u3)/assign_domain 2>/dev/null || echo refused
            \(dmesg)
            echo == in use
            echo +0x47 > /sys/bus/ap/aqmask 2>/dev/null || echo refused
            \(dmesg)
            echo == removed
            echo 1 > $M/\(u3)/remove
            \(dmesg)
            """], timeout: 30)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stderr, "")
        let sections = r.stdout.components(separatedBy: "== ").dropFirst().map { s -> (String, String) in
            let nl = s.firstIndex(of: "\n")!
            return (String(s[..<nl]), String(s[s.index(after: nl)...]))
        }
        XCTAssertEqual(sections.map(\.0), ["boot", "created", "sharing", "in use", "removed"])
        guard sections.count == 5 else { return }
        // mdev_register_parent's line from when vfio_ap loaded.
        XCTAssertEqual(messages(sections[0].1), ["vfio_ap matrix: MDEV: Registered"])
        let created = messages(sections[1].1)
        XCTAssertEqual(created, [
            "vfio_ap matrix: MDEV: Registered",
            "vfio_ap_mdev \(u1): Adding to iommu group 0",
            "vfio_ap_mdev \(u2): Adding to iommu group 1",
            "vfio_ap_mdev \(u3): Adding to iommu group 2",
        ])
        // u3 = adapters 5, 6 + domain 4: 05.0004 and 06.0004 are u1's; one
        // dev_warn on the assigning mdev per shared APQN.
        XCTAssertTrue(sections[2].1.hasPrefix("refused\n"))
        let sharing = messages(String(sections[2].1.dropFirst("refused\n".count)))
        XCTAssertEqual(Array(sharing.dropFirst(created.count)), [
            "vfio_ap_mdev \(u3): Userspace may not assign queue 05.0004 to mdev: already assigned to \(u1)",
            "vfio_ap_mdev \(u3): Userspace may not assign queue 06.0004 to mdev: already assigned to \(u1)",
        ])
        // +0x47 gives domain 0x47 of every adapter back to the host: u2 owns
        // 05.0047; one dev_warn on the owning mdev per APQN.
        XCTAssertTrue(sections[3].1.hasPrefix("refused\n"))
        let inUse = messages(String(sections[3].1.dropFirst("refused\n".count)))
        XCTAssertEqual(Array(inUse.dropFirst(sharing.count)), [
            "vfio_ap_mdev \(u2): Can not reserve queue 05.0047 for host driver: in use by mdev",
        ])
        let removed = messages(sections[4].1)
        XCTAssertEqual(Array(removed.dropFirst(inUse.count)), [
            "vfio_ap_mdev \(u3): Removing from iommu group 2",
        ])
    }

    /// `+5` on apmask: adapter 5 of every domain back to the host; u2
    /// (newest, first in mdev_list) has 05.0047 and 05.00ff — one line each.
    func testApmaskRefusalLogsEveryAPQNOfTheOwningMdev() throws {
        let u2 = Expected.uuid2
        let r = try ProcessRunner.run([Simulator.binary, "exec", "--", "/bin/sh", "-c", """
            T=\(Expected.typeDir)
            M=/sys/devices/vfio_ap/matrix
            echo -5,-6 > /sys/bus/ap/apmask
            echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask
            echo \(u2) > $T/create
            echo 5 > $M/\(u2)/assign_adapter; echo 0x47 > $M/\(u2)/assign_domain; echo 0xff > $M/\(u2)/assign_domain
            echo +5 > /sys/bus/ap/apmask 2>/dev/null || echo refused
            cat /sys/bus/ap/apmask
            "\(Simulator.binary)" dmesg
            """], timeout: 30)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stderr, "")
        let head = "refused\n" + Expected.apmaskSecured
        XCTAssertTrue(r.stdout.hasPrefix(head), r.stdout)
        XCTAssertEqual(messages(String(r.stdout.dropFirst(head.count))), [
            "vfio_ap matrix: MDEV: Registered",
            "vfio_ap_mdev \(u2): Adding to iommu group 0",
            "vfio_ap_mdev \(u2): Can not reserve queue 05.0047 for host driver: in use by mdev",
            "vfio_ap_mdev \(u2): Can not reserve queue 05.00ff for host driver: in use by mdev",
        ])
    }
}
