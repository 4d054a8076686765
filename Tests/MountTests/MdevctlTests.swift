import TestSupport
import XCTest

/// mdevctl (Debian 12: 1.2.0), unmodified, against the emulated tree inside
/// `exec`: it finds the parent through /sys/class/mdev_bus, reads the type
/// attributes, writes the UUID to `create` and each attribute without a
/// newline, and on a refused write removes the mdev again (clients.md).
/// Its /etc/mdevctl.d is a private bind mount inside the namespace.
final class MdevctlTests: XCTestCase {
    override func setUpWithError() throws {
        try Simulator.requireFuse()
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/mdevctl"),
                      "mdevctl is missing: apt-get install mdevctl (.ci/run installs it)")
    }

    /// Runs SCRIPT inside exec with a private, empty /etc/mdevctl.d.
    func mdevctl(_ script: String) throws -> ProcessResult {
        try Simulator.bash("""
            D=$(mktemp -d); mkdir -p $D/scripts.d/callouts $D/scripts.d/notifiers
            mount --bind $D /etc/mdevctl.d
            U1=\(Expected.uuid1); U2=\(Expected.uuid2)
            \(script)
            umount /etc/mdevctl.d; rm -rf $D
            """)
    }

    func testTypes() throws {
        let r = try mdevctl("mdevctl types")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            matrix
              vfio_ap-passthrough
                Available instances: 65536
                Device API: vfio-ap
                Name: VFIO AP Passthrough Device


            """)
    }

    func testDefineStartListStopWritesTheAttributes() throws {
        let r = try mdevctl("""
            echo -5,-6 > /sys/bus/ap/apmask; echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask
            mdevctl define -u $U1 -p matrix --type vfio_ap-passthrough
            for a in "assign_adapter 5" "assign_adapter 6" "assign_domain 4" "assign_domain 0xab" "assign_control_domain 4"; do
                set -- $a; mdevctl modify -u $U1 --addattr=$1 --value=$2
            done
            mdevctl start -u $U1; echo "start $?"
            cat /sys/devices/vfio_ap/matrix/$U1/matrix /sys/devices/vfio_ap/matrix/$U1/control_domains
            mdevctl list
            cat /sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/available_instances
            mdevctl stop -u $U1; echo "stop $?"
            ls /sys/devices/vfio_ap/matrix | grep -c -- - || true
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, """
            start 0
            05.0004
            05.00ab
            06.0004
            06.00ab
            0004
            \(Expected.uuid1) matrix vfio_ap-passthrough manual (defined)

            65535
            stop 0
            0

            """)
    }

    /// A refused attribute write fails `mdevctl start` with the kernel's errno,
    /// and mdevctl removes the half-configured mdev again.
    func testStartFailsWithTheKernelErrnoAndRollsBack() throws {
        let r = try mdevctl("""
            echo -5,-6 > /sys/bus/ap/apmask; echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask
            for u in $U1 $U2; do
                mdevctl define -u $u -p matrix --type vfio_ap-passthrough
                mdevctl modify -u $u --addattr=assign_adapter --value=5
                mdevctl modify -u $u --addattr=assign_domain --value=4
            done
            mdevctl start -u $U1; echo "start1 $?"
            mdevctl start -u $U2; echo "start2 $?"
            ls /sys/devices/vfio_ap/matrix | grep -- -
            vfio-ap-sim dmesg | cut -d ']' -f 2- | grep -v iommu
            """)
        XCTAssertEqual(r.stdout, """
            start1 0
            start2 1
            \(Expected.uuid1)
             vfio_ap matrix: MDEV: Registered
             vfio_ap_mdev \(Expected.uuid2): Userspace may not assign queue 05.0004 to mdev: already assigned to \(Expected.uuid1)

            """)
        XCTAssertEqual(r.stderr, """
            Error: Failed to write 4 to attribute assign_domain

            Caused by:
                Address already in use (os error 98)

            """)
    }

    /// The host still owns the queues: the assignment is refused EADDRNOTAVAIL.
    func testStartFailsWhileTheHostOwnsTheQueues() throws {
        let r = try mdevctl("""
            mdevctl define -u $U1 -p matrix --type vfio_ap-passthrough
            mdevctl modify -u $U1 --addattr=assign_adapter --value=5
            mdevctl modify -u $U1 --addattr=assign_domain --value=4
            mdevctl start -u $U1; echo "start $?"
            ls /sys/devices/vfio_ap/matrix | grep -c -- - || true
            """)
        XCTAssertEqual(r.stdout, "start 1\n0\n")
        XCTAssertTrue(r.stderr.contains("Cannot assign requested address (os error 99)"), r.stderr)
    }
}
