import Foundation
import TestSupport
import XCTest

/// /dev/kmsg inside exec: the emulated host's log in the kmsg record
/// format, read by util-linux dmesg and, byte by byte, by python.
final class KmsgTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    static let registered = "vfio_ap matrix: MDEV: Registered"

    func testDmesgShowsTheEmulatedLog() throws {
        let u = Expected.uuid1
        let r = try Simulator.bash("""
            echo \(u) > \(Expected.typeDir)/create
            echo bogus > /sys/devices/ap/card05/uevent 2>/dev/null
            dmesg | sed 's/^\\[ *[0-9]*\\.[0-9]*\\] //'
            dmesg -r | cut -c1-3
            dmesg -x | cut -d: -f1-2 | sed 's/ *\\[.*//'
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            \(Self.registered)
            vfio_ap_mdev \(u): Adding to iommu group 0
            synth uevent: /devices/ap/card05: unknown uevent action string
            <6>
            <6>
            <4>
            kern  :info\u{20}\u{20}
            kern  :info\u{20}\u{20}
            kern  :warn\u{20}\u{20}

            """)
        // The same lines as the host's own dmesg.
        let own = try Simulator.bash("vfio-ap-sim dmesg > /tmp/a.$$; dmesg > /tmp/b.$$; cmp /tmp/a.$$ /tmp/b.$$ && echo same; rm -f /tmp/a.$$ /tmp/b.$$")
        XCTAssertEqual(own.stdout, "same\n", own.stderr)
    }

    /// `dmesg -w` prints lines as they are logged.
    func testFollowSeesNewLines() throws {
        let r = try Simulator.bash("""
            dmesg -w > /tmp/kmsg-follow.$$ & d=$!
            for i in $(seq 50); do grep -q Registered /tmp/kmsg-follow.$$ && break; sleep 0.1; done
            echo -5,-6 > /sys/bus/ap/apmask; echo -4 > /sys/bus/ap/aqmask
            echo \(Expected.uuid1) > \(Expected.typeDir)/create
            cd /sys/devices/vfio_ap/matrix/\(Expected.uuid1); echo 5 > assign_adapter; echo 4 > assign_domain
            echo +4 > /sys/bus/ap/aqmask 2>/dev/null
            for i in $(seq 50); do grep -q 'Can not reserve' /tmp/kmsg-follow.$$ && break; sleep 0.1; done
            kill $d; wait $d 2>/dev/null
            sed 's/^\\[ *[0-9]*\\.[0-9]*\\] //' /tmp/kmsg-follow.$$; rm -f /tmp/kmsg-follow.$$
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            \(Self.registered)
            vfio_ap_mdev \(Expected.uuid1): Adding to iommu group 0
            vfio_ap_mdev \(Expected.uuid1): Can not reserve queue 05.0004 for host driver: in use by mdev

            """)
    }

    /// The device's read semantics: one record per read, EAGAIN at the end
    /// with O_NONBLOCK, EINVAL for a too-small buffer, SEEK_SET/SEEK_DATA to
    /// the first record and SEEK_END past the last; a write logs a line
    /// (facility user unless `<N>` says otherwise).
    func testRecordFormatAndSeeks() throws {
        let r = try Simulator.exec(["/usr/bin/python3", "-c", """
            import os, errno
            fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
            first = os.read(fd, 8192)
            print(repr(first.split(b";")[0].split(b",")[:2]), first.split(b";", 1)[1])
            try: os.read(fd, 8192)
            except OSError as e: print("end", errno.errorcode[e.errno])
            os.write(os.open("/dev/kmsg", os.O_WRONLY), b"<13>vfio-ap-sim test line\\n")
            second = os.read(fd, 8192)
            print(second.split(b",")[0], second.split(b",")[1], second.split(b";", 1)[1])
            print(os.lseek(fd, 0, os.SEEK_SET), os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_END) == len(first) + len(second))
            os.lseek(fd, 0, os.SEEK_SET)
            try: os.read(fd, 10)
            except OSError as e: print("small", errno.errorcode[e.errno])
            print(os.read(fd, 8192) == first)
            """])
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, """
            [b'6', b'0'] b'\(Self.registered)\\n'
            end EAGAIN
            b'13' b'1' b'vfio-ap-sim test line\\n'
            0 0 True
            small EINVAL
            True

            """)
    }
}
