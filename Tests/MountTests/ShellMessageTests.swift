import TestSupport
import XCTest

/// What a shell user sees: bash's `echo` reports the store's errno with
/// strerror; dash's `echo` reports every failed write as `I/O error`.
final class ShellMessageTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    /// Line numbers are the script's; each errno is the store's.
    func testBashEchoReportsTheKernelErrno() throws {
        let r = try Simulator.bash("""
            T=\(Expected.typeDir)
            echo -5,-6 > /sys/bus/ap/apmask
            echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask
            echo \(Expected.uuid1) > $T/create
            echo \(Expected.uuid2) > $T/create
            cd /sys/devices/vfio_ap/matrix/\(Expected.uuid1)
            echo 5 > assign_adapter
            echo 4 > assign_domain
            cd /sys/devices/vfio_ap/matrix/\(Expected.uuid2)
            echo five > assign_adapter
            echo 18446744073709551616 > assign_adapter
            echo 256 > assign_adapter
            echo 5 > assign_adapter
            echo 4 > assign_domain
            echo 1 > assign_adapter
            echo 1 > assign_domain
            echo \(Expected.uuid1) > $T/create
            echo +5 > /sys/bus/ap/apmask
            echo 1 > /sys/bus/ap/ap_max_domain_id
            cat /sys/bus/ap/drivers/vfio_ap/bind
            echo 1 > /sys/devices/vfio_ap/matrix/\(Expected.uuid2)/remove
            echo 1 > /sys/devices/vfio_ap/matrix/\(Expected.uuid2)/remove
            cat matrix
            """)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, """
            bash: line 10: echo: write error: Invalid argument
            bash: line 11: echo: write error: Numerical result out of range
            bash: line 12: echo: write error: No such device
            bash: line 14: echo: write error: Address already in use
            bash: line 16: echo: write error: Cannot assign requested address
            bash: line 17: echo: write error: File exists
            bash: line 18: echo: write error: Device or resource busy
            bash: line 19: /sys/bus/ap/ap_max_domain_id: Permission denied
            cat: /sys/bus/ap/drivers/vfio_ap/bind: Permission denied
            bash: line 22: /sys/devices/vfio_ap/matrix/\(Expected.uuid2)/remove: No such file or directory
            cat: matrix: No such file or directory

            """)
    }

    func testDashEchoSaysIOErrorForEveryErrno() throws {
        let r = try Simulator.sh("""
            T=\(Expected.typeDir)
            echo -5,-6 > /sys/bus/ap/apmask
            echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask
            echo \(Expected.uuid1) > $T/create
            echo \(Expected.uuid2) > $T/create
            echo 5 > /sys/devices/vfio_ap/matrix/\(Expected.uuid1)/assign_adapter
            echo 4 > /sys/devices/vfio_ap/matrix/\(Expected.uuid1)/assign_domain
            cd /sys/devices/vfio_ap/matrix/\(Expected.uuid2)
            echo 5 > assign_adapter
            echo five > assign_adapter; echo "status $?"
            echo 4 > assign_domain; echo "status $?"
            echo 256 > assign_domain; echo "status $?"
            echo +5 > /sys/bus/ap/apmask; echo "status $?"
            printf 4 > assign_domain; echo "printf status $?"
            """)
        XCTAssertEqual(r.stdout, "status 1\nstatus 1\nstatus 1\nstatus 1\nprintf status 1\n")
        XCTAssertEqual(r.stderr, """
            sh: 10: echo: echo: I/O error
            sh: 11: echo: echo: I/O error
            sh: 12: echo: echo: I/O error
            sh: 13: echo: echo: I/O error
            sh: 14: printf: printf: I/O error

            """)
    }
}
