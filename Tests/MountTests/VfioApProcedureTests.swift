import TestSupport
import XCTest

/// The "Example" of Documentation/arch/s390/vfio-ap.rst, commands exactly as
/// the document writes them (kernel-sysfs.md §6 items 4–9), run by a real
/// shell inside `vfio-ap-sim exec`; every byte of stdout is compared.
final class VfioApProcedureTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    /// The doc's relative mask commands (§6 item 4, first form).
    static let relativeMasks = """
        echo -5,-6 > /sys/bus/ap/apmask
        echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask
        """

    /// The doc's absolute mask commands (§6 item 4, second form; cwd /sys/bus/ap).
    static let absoluteMasks = """
        cd /sys/bus/ap
        echo 0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff \\
        > apmask
        echo 0xf7fffffffffffffffeffffffffffffffffffffffffeffffffffffffffffffffe \\
        > aqmask
        """

    /// Items 5–9 after the masks. `echo ==` lines only label the transcript.
    static let procedure = """
        echo == masks
        cat /sys/bus/ap/apmask
        cat /sys/bus/ap/aqmask
        echo == vfio_ap
        ls /sys/bus/ap/drivers/vfio_ap
        echo == hwtype
        cat /sys/bus/ap/devices/card05/hwtype
        uuid1=\(Expected.uuid1)
        uuid2=\(Expected.uuid2)
        uuid3=\(Expected.uuid3)
        cd /sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough
        echo $uuid1 > create
        echo $uuid2 > create
        echo $uuid3 > create
        echo == devices
        ls devices
        cat available_instances
        echo == guest1
        cd /sys/devices/vfio_ap/matrix/$uuid1
        echo 5 > assign_adapter
        echo 6 > assign_adapter
        echo 4 > assign_domain
        echo 0xab > assign_domain
        cat matrix
        echo == guest1 guest_matrix
        cat guest_matrix
        echo == guest1 ap_config control_domains
        cat ap_config
        cat control_domains
        echo == guest2
        cd /sys/devices/vfio_ap/matrix/$uuid2
        echo 5 > assign_adapter
        echo 0x47 > assign_domain
        echo 0xff > assign_domain
        cat matrix
        cat guest_matrix
        echo == guest3
        cd /sys/devices/vfio_ap/matrix/$uuid3
        echo 6 > assign_adapter
        echo 0x47 > assign_domain
        echo 0xff > assign_domain
        cat matrix
        cat guest_matrix
        echo == status
        cat /sys/bus/ap/devices/05.0004/status
        echo == remove
        cd /sys/devices/vfio_ap/matrix/$uuid1
        echo 1 > remove
        cd /
        ls /sys/devices/vfio_ap/matrix
        ls /sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/devices
        cat /sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/available_instances
        cat /sys/bus/ap/devices/05.0004/status
        cat /sys/bus/ap/devices/05.0047/status
        echo == done
        """

    static let transcript = """
        == masks
        \(Expected.apmaskSecured)\(Expected.aqmaskSecured)== vfio_ap
        \(Expected.vfioApDriverListing)== hwtype
        \(Expected.card05HWType)== devices
        \(Expected.uuid3)
        \(Expected.uuid1)
        \(Expected.uuid2)
        65533
        == guest1
        \(Expected.guest1Matrix)== guest1 guest_matrix
        \(Expected.guest1Matrix)== guest1 ap_config control_domains
        \(Expected.guest1APConfig)== guest2
        \(Expected.guest2Matrix)\(Expected.guest2Matrix)== guest3
        \(Expected.guest3Matrix)\(Expected.guest3Matrix)== status
        assigned
        == remove
        \(Expected.matrixListingAfterRemove)\(Expected.uuid3)
        \(Expected.uuid2)
        65534
        unassigned
        assigned
        == done

        """

    func runProcedure(masks: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Simulator.sh("set -eu\n" + masks + "\n" + Self.procedure, file: file, line: line)
        XCTAssertEqual(r.stderr, "", file: file, line: line)
        XCTAssertEqual(r.status, 0, file: file, line: line)
        XCTAssertEqual(r.stdout, Self.transcript, file: file, line: line)
    }

    func testDocumentedProcedureWithRelativeMasks() throws {
        try runProcedure(masks: Self.relativeMasks)
    }

    func testDocumentedProcedureWithAbsoluteMasks() throws {
        try runProcedure(masks: Self.absoluteMasks)
    }

    /// Both mask forms leave the same bus state behind, byte for byte.
    func testMaskFormsGiveIdenticalBusState() throws {
        let dump = """
            cd /sys/bus/ap
            cat apmask aqmask bindings
            for q in 05.0004 05.0047 05.00ab 05.00ff 06.0004 06.0047 06.00ab 06.00ff; do
              readlink devices/$q/driver
            done
            """
        let relative = try Simulator.sh("set -eu\n" + Self.relativeMasks + "\n" + dump)
        let absolute = try Simulator.sh("set -eu\n" + Self.absoluteMasks + "\n" + dump)
        XCTAssertEqual(relative.status, 0)
        XCTAssertEqual(relative.stderr, "")
        XCTAssertEqual(relative.stdout, absolute.stdout)
        XCTAssertEqual(relative.stdout, Expected.apmaskSecured + Expected.aqmaskSecured + "8/8 (complete)\n"
                       + String(repeating: "../../../../bus/ap/drivers/vfio_ap\n", count: 8))
    }

    /// Before anything is changed every queue belongs to the host.
    func testBootState() throws {
        let r = try Simulator.sh("""
            cat /sys/bus/ap/apmask /sys/bus/ap/aqmask
            ls /sys/bus/ap/drivers/vfio_ap
            ls /sys/bus/ap/drivers/cex4queue
            cat /sys/devices/vfio_ap/matrix/features
            cat /sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/available_instances
            """)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, Expected.allOnesMask + Expected.allOnesMask
                       + "bind\nmodule\nuevent\nunbind\n"
                       + "05.0004\n05.0047\n05.00ab\n05.00ff\n06.0004\n06.0047\n06.00ab\n06.00ff\nbind\nmodule\nuevent\nunbind\n"
                       + "guest_matrix hotplug ap_config migratable\n"
                       + "65536\n")
    }
}
