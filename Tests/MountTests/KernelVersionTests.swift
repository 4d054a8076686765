import Foundation
import TestSupport
import XCTest

/// Attributes whose behaviour changed in recent kernels, read with a shell
/// through a real mount as the kernel the seed applies to (v7.0) shows them
/// (kernel-sysfs.md §2.2, §2.4, §11; docs/FIDELITY.md "Kernel version").
final class KernelVersionTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    private var files: [String] = []
    override func tearDown() { for f in files { try? FileManager.default.removeItem(atPath: f) } }

    func topology(_ yaml: String) throws -> String {
        let path = NSTemporaryDirectory() + "vfio-ap-sim-kernelversion-\(getpid())-\(UUID().uuidString.prefix(8)).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        files.append(path)
        return path
    }

    func run(_ script: String, topology: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try Simulator.bash(script, topology: topology, file: file, line: line)
        XCTAssertEqual(r.stderr, "", file: file, line: line)
        XCTAssertEqual(r.status, 0, file: file, line: line)
        return r.stdout
    }

    /// v6.19-rc7 "s390/ap: Fix wrong APQN fill calculation": `depth` is the
    /// TAPQ qd field + 1, so the example's CEX5 (qd 7) shows 8.
    func testCardDepthIsQueueDepthPlusOne() throws {
        XCTAssertEqual(try run("cat /sys/bus/ap/devices/card05/depth /sys/devices/ap/card06/depth"), "8\n8\n")
        let ep11 = Paths.topology("cex8-ep11.yaml")
        XCTAssertEqual(try run("cat /sys/devices/ap/card0b/depth", topology: ep11), "9\n")
    }

    /// 598bbefa: a CCA card's `serialnr` asks any online domain of the card;
    /// with no info cache an offline card (or one with no online domain
    /// left, e.g. every queue given to vfio_ap) reads an empty line.
    func testCCASerialNumberNeedsAnOnlineDomain() throws {
        let out = try run("""
            c=/sys/devices/ap/card05
            cat $c/serialnr
            echo 0 > /sys/devices/ap/card05/05.0004/online    # the default domain offline
            cat /sys/bus/ap/ap_domain $c/serialnr
            echo 0 > $c/online
            cat $c/serialnr
            echo 1 > $c/online; echo 1 > $c/05.0004/online
            cat $c/serialnr
            echo -5 > /sys/bus/ap/apmask                        # every domain to vfio_ap
            cat $c/serialnr
            """)
        XCTAssertEqual(out, "93AADFK7\n4\n93AADFK7\n\n93AADFK7\n\n")
    }

    /// v6.16 dropped the EP11 card-info cache: an offline card's
    /// `API_ordinalnr`, `FW_version`, `serialnr` and `op_modes` read `\n`.
    func testEP11CardInfoOfAnOfflineCard() throws {
        let out = try run("""
            c=/sys/devices/ap/card0b
            cat $c/API_ordinalnr $c/FW_version $c/serialnr $c/op_modes
            echo 0 > $c/online
            cat $c/online $c/API_ordinalnr $c/FW_version $c/serialnr $c/op_modes
            echo 1 > $c/online
            cat $c/API_ordinalnr
            """, topology: Paths.topology("cex8-ep11.yaml"))
        XCTAssertEqual(out, "4\n8.1\n93AACB12B0000018\nFIPS2021 FIPS2024\n0\n\n\n\n\n4\n")
    }

    /// `cca_mkvps_show` cannot reach an offline queue: every line `X YYY: - -`.
    func testCCAMasterKeysOfAnOfflineQueue() throws {
        let unknown = ["AES", "APKA", "ASYM"].flatMap { k in ["NEW", "CUR", "OLD"].map { "\(k) \($0): - -\n" } }.joined()
        let out = try run("""
            q=/sys/devices/ap/card0a/0a.0010
            head -2 $q/mkvps
            echo 0 > $q/online
            cat $q/mkvps
            echo 1 > $q/online; echo 0 > /sys/devices/ap/card0a/online
            cat $q/mkvps
            """, topology: Paths.topology("cex8-ep11.yaml"))
        XCTAssertEqual(out, "AES NEW: empty 0x0000000000000000\nAES CUR: valid 0x2a4fc7ae8f5b1d33\n" + unknown + unknown)
    }

    /// v6.10: a QCI whose flags word is 0 is "QCI not supported".
    func testQCIWithZeroFlagsIsNotSupported() throws {
        let path = try topology("""
            name: qci-zero-flags
            machine:
              qci: true
              facilities: []
            adapters:
              - {id: 0x05, type: CEX5, mode: cca}
            usage_domains: [0x04, 0x0f]
            control_domains: [0x04]
            """)
        let out = try run("""
            cd /sys/bus/ap
            cat ap_adapter_mask ap_usage_domain_mask ap_control_domain_mask features ap_max_adapter_id ap_max_domain_id
            ls devices
            """, topology: path)
        XCTAssertEqual(out, "not supported\nnot supported\nnot supported\n-\n63\n15\n05.0004\n05.000f\ncard05\n")
        // vfio_ap's guest matrix: the whole 0-63 / 0-15 range counts as configured.
        let uuid = Expected.uuid1
        let m = try run("""
            echo -5 > /sys/bus/ap/apmask
            echo \(uuid) > \(Expected.typeDir)/create
            cd /sys/devices/vfio_ap/matrix/\(uuid)
            echo 5 > assign_adapter; echo 0xf > assign_domain; echo 0xe > assign_control_domain
            cat matrix guest_matrix control_domains
            """, topology: path)
        XCTAssertEqual(m, "05.000f\n05.000f\n000e\n")
    }

    /// zcrypt_cex4_queue_probe initialises every queue it binds, so a
    /// deconfigured or checkstopped queue under cex4queue counts from 0.
    func testRequestCountOfAFaultyQueueBoundToCex4queue() throws {
        let path = try topology(try String(contentsOfFile: Paths.topology("cex8-ep11.yaml"), encoding: .utf8) + """

            queues:
              - {apqn: "0a.0010", checkstopped: true}
              - {apqn: "0a.0011", configured: false}
            """)
        let out = try run("""
            cd /sys/devices/ap/card0a
            for q in 0a.0010 0a.0011 0a.0012; do
                echo $q $(readlink $q/driver | sed 's,.*/,,') $(cat $q/chkstop $q/config $q/request_count)
                cat $q/reset $q/interrupt
            done
            cat /sys/devices/ap/card0c/0c.0010/request_count
            """, topology: path)
        XCTAssertEqual(out, """
            0a.0010 cex4queue 1 1 0
            Reset in progress.
            Interrupts disabled.
            0a.0011 cex4queue 0 0 0
            Reset in progress.
            Interrupts disabled.
            0a.0012 cex4queue 0 1 0
            No Reset Timer set.
            Interrupts enabled.
            0

            """)
    }

    /// ap_scan_bus_timer: a scan every `config_time` seconds, each counted;
    /// a `config_time` write re-arms the timer.
    func testBusRescansEveryConfigTime() throws {
        let out = try run("""
            cd /sys/bus/ap
            cat scans
            echo 5 > config_time
            cat scans
            for i in $(seq 1 100); do [ "$(cat scans)" -ge 2 ] && break; sleep 0.1; done
            cat scans
            """)
        let lines = out.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, out)
        XCTAssertEqual(lines.prefix(2), ["1", "1"], "the timer does not fire before config_time")
        XCTAssertEqual(lines.last, "2", "one scan about config_time (5 s) after the write: \(out)")
    }
}
