import Foundation
import TestSupport
import XCTest

/// The events the host sends, seen by unmodified udev clients inside
/// `exec`: udevadm (systemd's libudev) and pyudev, with their in-kernel
/// socket filters, and nothing set by the user.
final class UdevTests: XCTestCase {
    override func setUpWithError() throws {
        try Simulator.requireFuse()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/udevadm") else {
            XCTFail("/usr/bin/udevadm is missing: .ci/run installs udev")
            throw XCTSkip("cannot run without udevadm")
        }
    }

    /// Runs `udevadm monitor ARGS` in the background while `actions` run,
    /// and returns what it printed (its two header lines dropped).
    func monitor(_ args: String, _ actions: String, settle: String = "0.3", file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try Simulator.bash("""
            udevadm monitor \(args) > /tmp/udevadm.$$ 2>&1 & m=$!
            for i in $(seq 50); do grep -q "^UDEV - " /tmp/udevadm.$$ 2>/dev/null && break; sleep 0.1; done
            \(actions)
            sleep \(settle); kill $m; wait $m 2>/dev/null
            tail -n +3 /tmp/udevadm.$$; rm -f /tmp/udevadm.$$
            """, file: file, line: line)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return r.stdout
    }

    /// The `udevadm monitor` event lines without their timestamps.
    func events(_ out: String) -> [String] {
        out.split(separator: "\n").filter { $0.hasPrefix("UDEV ") }.map { l in
            let parts = l.split(separator: " ", omittingEmptySubsequences: true)
            return parts.count >= 5 ? "\(parts[2]) \(parts[3]) \(parts[4])" : String(l)
        }
    }

    func testMdevAddBindAndRemoveWithProperties() throws {
        let u = Expected.uuid1
        let m = "/devices/vfio_ap/matrix/\(u)"
        let out = try monitor("--udev --property", """
            echo \(u) > \(Expected.typeDir)/create
            echo 1 > /sys/devices/vfio_ap/matrix/\(u)/remove
            """)
        XCTAssertEqual(events(out), [
            "add \(m) (mdev)", "add \(m)/vfio-dev/vfio0 (vfio-dev)", "bind \(m) (mdev)",
            "remove \(m)/vfio-dev/vfio0 (vfio-dev)", "unbind \(m) (mdev)", "remove \(m) (mdev)",
        ])
        // The bind event's properties, as udevd passes them on.
        let blocks = out.components(separatedBy: "\n\n")
        let bind = try XCTUnwrap(blocks.first { $0.contains("ACTION=bind") })
        let props = bind.split(separator: "\n").dropFirst().filter { !$0.hasPrefix("USEC_INITIALIZED=") }
        XCTAssertEqual(props, ["ACTION=bind", "DEVPATH=\(m)", "SUBSYSTEM=mdev", "DRIVER=vfio_ap_mdev", "SEQNUM=3"])
        XCTAssertTrue(bind.contains("\nUSEC_INITIALIZED="), bind)
    }

    func testQueuesMoveDriversWhenApmaskChanges() throws {
        let out = try monitor("--udev --subsystem-match=ap --property", "echo -6 > /sys/bus/ap/apmask")
        var expected: [String] = []
        for d in ["0004", "0047", "00ab", "00ff"] {
            expected += ["unbind /devices/ap/card06/06.\(d) (ap)", "bind /devices/ap/card06/06.\(d) (ap)"]
        }
        expected.append("change /devices/ap (ap)")
        XCTAssertEqual(events(out), expected)
        XCTAssertTrue(out.contains("ACTION=bind\nDEVPATH=/devices/ap/card06/06.0004\nSUBSYSTEM=ap\nDEVTYPE=ap_queue\nDRIVER=vfio_ap\nMODE=accel\nSEQNUM=2\n"), out)
        XCTAssertTrue(out.contains("ACTION=unbind\nDEVPATH=/devices/ap/card06/06.0004\nSUBSYSTEM=ap\nDEVTYPE=ap_queue\nMODE=accel\nSEQNUM=1\n"), out)
        XCTAssertTrue(out.contains("ACTION=change\nDEVPATH=/devices/ap\nSUBSYSTEM=ap\nAPMASK=0xfdffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\nSEQNUM=9\n"), out)
    }

    /// `vfio-ap-sim hw`: an adapter leaves the configuration (device_del:
    /// unbind and remove of each queue, then of the card) and comes back
    /// (device_add and the probe's bind, card first, then bindings complete).
    func testAdapterLeavingAndRejoiningTheConfiguration() throws {
        let out = try monitor("--udev --subsystem-match=ap --property", """
            vfio-ap-sim hw adapter remove 6
            vfio-ap-sim hw adapter add 6
            vfio-ap-sim hw card deconfigure 5
            vfio-ap-sim hw card checkstop 6
            """)
        let domains = ["0004", "0047", "00ab", "00ff"]
        var expected: [String] = []
        for d in domains { expected += ["unbind /devices/ap/card06/06.\(d) (ap)", "remove /devices/ap/card06/06.\(d) (ap)"] }
        expected += ["unbind /devices/ap/card06 (ap)", "remove /devices/ap/card06 (ap)", "add /devices/ap/card06 (ap)", "bind /devices/ap/card06 (ap)"]
        for d in domains { expected += ["add /devices/ap/card06/06.\(d) (ap)", "bind /devices/ap/card06/06.\(d) (ap)"] }
        expected.append("change /devices/ap (ap)")
        expected.append("change /devices/ap/card05 (ap)")
        for d in domains { expected.append("change /devices/ap/card05/05.\(d) (ap)") }
        XCTAssertEqual(events(out), expected, "a checkstop sends nothing")
        XCTAssertTrue(out.contains("ACTION=remove\nDEVPATH=/devices/ap/card06\nSUBSYSTEM=ap\nDEVTYPE=ap_card\nDEV_TYPE=000B\nMODALIAS=ap:t0B\nMODE=accel\nSEQNUM=10\n"), out)
        XCTAssertTrue(out.contains("ACTION=add\nDEVPATH=/devices/ap/card06/06.0004\nSUBSYSTEM=ap\nDEVTYPE=ap_queue\nMODE=accel\nSEQNUM=13\n"), out)
        XCTAssertTrue(out.contains("ACTION=change\nDEVPATH=/devices/ap\nSUBSYSTEM=ap\nBINDINGS=complete\nCOMPLETECOUNT=2\nSEQNUM=21\n"), out)
        XCTAssertTrue(out.contains("ACTION=change\nDEVPATH=/devices/ap/card05/05.00ff\nSUBSYSTEM=ap\nCONFIG=0\nDEVTYPE=ap_queue\nDRIVER=cex4queue\nMODE=cca\nSEQNUM=26\n"), out)
    }

    /// The in-kernel filter (subsystem and devtype hashes in the libudev
    /// header) lets only the cards through.
    func testSubsystemDevtypeFilter() throws {
        let out = try monitor("--udev --subsystem-match=ap/ap_card", """
            echo 0 > /sys/devices/ap/card05/online
            echo -5 > /sys/bus/ap/apmask
            """)
        XCTAssertEqual(events(out), ["change /devices/ap/card05 (ap)"])
    }

    /// `udevadm trigger` writes `change` to each uevent file of the bus's
    /// devices: one synthetic change event per card and queue, with
    /// SYNTH_UUID=0 (the AP root device is not on the bus's device list:
    /// its bus is set after it is registered).
    func testTriggerSendsChangeEvents() throws {
        let out = try monitor("--udev --subsystem-match=ap --property", "udevadm trigger --subsystem-match=ap --action=change")
        let ev = events(out)
        XCTAssertEqual(Set(ev), Set(["change /devices/ap/card05 (ap)", "change /devices/ap/card06 (ap)"]
            + ["05", "06"].flatMap { c in ["0004", "0047", "00ab", "00ff"].map { "change /devices/ap/card\(c)/\(c).\($0) (ap)" } }))
        XCTAssertEqual(ev.count, 10)
        XCTAssertTrue(out.contains("ACTION=change\nDEVPATH=/devices/ap/card05\nSUBSYSTEM=ap\nSYNTH_UUID="), out)
    }

    func testPyudevEnumeratesAndMonitors() throws {
        guard FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/pyudev") else {
            XCTFail("pyudev is missing: .ci/run installs python3-pyudev")
            return
        }
        let u = Expected.uuid1
        let r = try Simulator.exec(["/usr/bin/python3", "-c", """
            import os, pyudev
            ctx = pyudev.Context()
            print(" ".join(sorted(d.sys_name for d in ctx.list_devices(subsystem="ap", DEVTYPE="ap_card"))))
            print(len(list(ctx.list_devices(subsystem="ap", DEVTYPE="ap_queue"))))
            card = pyudev.Devices.from_sys_path(ctx, "/sys/devices/ap/card05")
            print(card.driver, card.device_type, card.properties["MODE"], card.properties["DEV_TYPE"])
            mon = pyudev.Monitor.from_netlink(ctx)
            mon.filter_by("mdev")
            mon.start()
            os.system("echo \(u) > \(Expected.typeDir)/create; echo -5 > /sys/bus/ap/apmask")
            for _ in range(2):
                d = mon.poll(timeout=5)
                print(d.action, d.sys_name, d.subsystem, d.driver)
            """])
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, """
            card05 card06
            8
            cex4card ap_card cca 000B
            add \(u) mdev vfio_ap_mdev
            bind \(u) mdev vfio_ap_mdev

            """)
    }

    /// With --host-network the command keeps the machine's network, and is
    /// told that no events reach it.
    func testHostNetworkSaysEventsAreNotDelivered() throws {
        let r = try ProcessRunner.run([Simulator.binary, "exec", "--host-network", "--", "/bin/sh", "-c", "readlink /proc/self/ns/net"], timeout: 30)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, (try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")) + "\n")
        XCTAssertEqual(r.stderr, "vfio-ap-sim: --host-network: udev events are not delivered (uevent multicast is per network namespace)\n")
        let own = try ProcessRunner.run([Simulator.binary, "exec", "--", "/bin/sh", "-c", "readlink /proc/self/ns/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags"], timeout: 30)
        XCTAssertNotEqual(own.stdout.split(separator: "\n").first.map(String.init), try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net"))
    }
}
