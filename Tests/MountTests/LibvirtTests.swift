import Foundation
import TestSupport
import XCTest

/// libvirt's node device driver, unmodified (Debian's libvirtd with only
/// libvirt_driver_nodedev.so, private /run, /var/lib and /etc/mdevctl.d, all
/// inside `vfio-ap-sim exec`): it enumerates the AP devices through libudev,
/// learns of changes only from the udev events the host sends, and creates
/// and defines vfio_ap mdevs through mdevctl.
final class LibvirtTests: XCTestCase {
    override func setUpWithError() throws {
        try Simulator.requireFuse()
        for tool in ["/usr/sbin/libvirtd", "/usr/bin/virsh", "/usr/bin/mdevctl"] where !FileManager.default.isExecutableFile(atPath: tool) {
            XCTFail("\(tool) is missing: .ci/run installs libvirt-daemon, libvirt-clients and mdevctl")
            throw XCTSkip("cannot run without \(tool)")
        }
    }

    static let driver = "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_nodedev.so"

    /// Starts libvirtd in the exec namespace, runs `body`, stops libvirtd.
    /// `wait_for CMD PATTERN` polls CMD (at most 15 s) until its output has
    /// PATTERN; `wait_gone` until it has not. libvirtd enumerates in a thread
    /// of its own after its socket appears, so the body starts once ap_matrix
    /// is listed.
    func libvirt(_ body: String, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let script = """
            set -u
            T=$(mktemp -d /tmp/vfio-ap-sim-libvirt.XXXXXX)
            trap '[ -f $T/pid ] && kill $(cat $T/pid); rm -rf $T' EXIT
            # Private state: nothing of the machine's libvirt is touched.
            mount -t tmpfs tmpfs /run && mkdir -p /run/udev/data && touch /run/udev/control
            mkdir -p $T/var && mount --bind $T/var /var/lib
            mkdir -p /etc/mdevctl.d && mount -t tmpfs tmpfs /etc/mdevctl.d
            mkdir -p /etc/mdevctl.d/scripts.d/callouts /etc/mdevctl.d/scripts.d/notifiers
            mkdir $T/drivers && ln -s \(Self.driver) $T/drivers/
            export LIBVIRT_DRIVER_DIR=$T/drivers LIBVIRT_LOG_OUTPUTS="3:file:$T/libvirtd.log"
            libvirtd --pid-file $T/pid > $T/out 2>&1 &
            for i in $(seq 100); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
            [ -S /run/libvirt/libvirt-sock ] || { echo "libvirtd did not start: $(cat $T/out)" >&2; exit 1; }
            V="virsh -c nodedev:///system"
            wait_for() { for i in $(seq 150); do eval "$1" 2>&1 | grep -q -- "$2" && return 0; sleep 0.1; done
                         echo "timeout waiting for '$2' in: $1" >&2; eval "$1" >&2; return 1; }
            wait_gone() { for i in $(seq 150); do eval "$1" 2>&1 | grep -q -- "$2" || return 0; sleep 0.1; done
                          echo "timeout waiting for '$2' to go from: $1" >&2; return 1; }
            wait_for "$V nodedev-list" ap_matrix || exit 1
            \(body)
            """
        return try ProcessRunner.run([Simulator.binary, "exec", "--", "/bin/bash", "-c", script], timeout: 120, file: file, line: line)
    }

    func testNodeDevicesAsOnAnS390Host() throws {
        let r = try libvirt("""
            $V nodedev-list --cap ap_card; $V nodedev-list --cap ap_queue | tr '\\n' ' '; echo
            $V nodedev-list --cap ap_matrix; $V nodedev-list --cap mdev_types
            $V nodedev-dumpxml ap_card05
            $V nodedev-dumpxml ap_05_00ab
            $V nodedev-dumpxml ap_matrix
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            ap_card05
            ap_card06

            ap_05_0004 ap_05_0047 ap_05_00ab ap_05_00ff ap_06_0004 ap_06_0047 ap_06_00ab ap_06_00ff  
            ap_matrix

            ap_matrix

            <device>
              <name>ap_card05</name>
              <path>/sys/devices/ap/card05</path>
              <parent>computer</parent>
              <driver>
                <name>cex4card</name>
              </driver>
              <capability type='ap_card'>
                <ap-adapter>0x05</ap-adapter>
              </capability>
            </device>

            <device>
              <name>ap_05_00ab</name>
              <path>/sys/devices/ap/card05/05.00ab</path>
              <parent>ap_card05</parent>
              <driver>
                <name>cex4queue</name>
              </driver>
              <capability type='ap_queue'>
                <ap-adapter>0x05</ap-adapter>
                <ap-domain>0x00ab</ap-domain>
              </capability>
            </device>

            <device>
              <name>ap_matrix</name>
              <path>/sys/devices/vfio_ap/matrix</path>
              <parent>computer</parent>
              <driver>
                <name>vfio_ap</name>
              </driver>
              <capability type='ap_matrix'>
                <capability type='mdev_types'>
                  <type id='vfio_ap-passthrough'>
                    <name>VFIO AP Passthrough Device</name>
                    <deviceAPI>vfio-ap</deviceAPI>
                    <availableInstances>65536</availableInstances>
                  </type>
                </capability>
              </capability>
            </device>


            """)
    }

    /// An mdev created and removed through sysfs after libvirtd started is
    /// listed and dropped as the udev events arrive, within 2 s.
    func testMdevMadeThroughSysfsIsSeen() throws {
        let u = Expected.uuid1
        let name = "mdev_" + u.replacingOccurrences(of: "-", with: "_") + "_matrix"
        let r = try libvirt("""
            echo -5,-6 > /sys/bus/ap/apmask; echo -4,-0xab > /sys/bus/ap/aqmask
            start=$(date +%s%N)
            echo \(u) > /sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create
            wait_for "$V nodedev-list --cap mdev" \(name) || exit 1
            echo "seen after $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2
            $V nodedev-dumpxml \(name)
            $V nodedev-list --cap ap_queue --tree >/dev/null
            echo 1 > /sys/devices/vfio_ap/matrix/\(u)/remove
            wait_gone "$V nodedev-list --cap mdev" \(name) || exit 1
            echo gone
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            <device>
              <name>\(name)</name>
              <path>/sys/devices/vfio_ap/matrix/\(u)</path>
              <parent>ap_matrix</parent>
              <driver>
                <name>vfio_ap_mdev</name>
              </driver>
              <capability type='mdev'>
                <type id='vfio_ap-passthrough'/>
                <uuid>\(u)</uuid>
                <parent_addr>matrix</parent_addr>
                <iommuGroup number='0'/>
              </capability>
            </device>

            gone

            """)
        let ms = r.stderr.split(separator: " ").dropFirst(2).first.flatMap { Int($0) }
        XCTAssertNotNil(ms, r.stderr)
        XCTAssertLessThan(ms ?? .max, 2000, "libvirt listed the mdev \(ms ?? -1) ms after the create write")
    }

    /// nodedev-create/-destroy/-define/-start/-undefine go through mdevctl
    /// and wait for the device's udev event; nodedev-event reports them.
    func testMdevLifecycleThroughMdevctl() throws {
        let u = Expected.uuid1
        let name = "mdev_" + u.replacingOccurrences(of: "-", with: "_") + "_matrix"
        let r = try libvirt("""
            echo -5,-6 > /sys/bus/ap/apmask; echo -4,-0xab > /sys/bus/ap/aqmask
            cat > $T/mdev.xml <<X
            <device>
              <parent>ap_matrix</parent>
              <capability type='mdev'>
                <type id='vfio_ap-passthrough'/>
                <uuid>\(u)</uuid>
                <attr name='assign_adapter' value='5'/>
                <attr name='assign_domain' value='0xab'/>
              </capability>
            </device>
            X
            timeout 60 $V nodedev-event --event lifecycle --loop > $T/events 2>&1 &
            sleep 0.5
            timeout 30 $V nodedev-create $T/mdev.xml || exit 1
            cat /sys/devices/vfio_ap/matrix/\(u)/matrix
            timeout 30 $V nodedev-destroy \(name) || exit 1
            [ -e /sys/devices/vfio_ap/matrix/\(u) ] && echo "still there"
            timeout 30 $V nodedev-define $T/mdev.xml || exit 1
            $V nodedev-info \(name) | grep -E '^(Active|Persistent)'
            timeout 30 $V nodedev-start \(name) || exit 1
            $V nodedev-info \(name) | grep -E '^(Active|Persistent)'
            cat /sys/devices/vfio_ap/matrix/\(u)/matrix
            timeout 30 $V nodedev-destroy \(name) || exit 1
            timeout 30 $V nodedev-undefine \(name) || exit 1
            wait_gone "$V nodedev-list --cap mdev --all" \(name) || exit 1
            # libvirt re-reads mdevctl's definitions on its own timer, which
            # can add a Defined/Undefined pair of its own: wait for both
            # starts and the final undefine.
            wait_for "[ \\$(grep -c Created $T/events) -ge 2 ] && tail -1 $T/events" "\(name): Undefined" || exit 1
            sed 's/^event .lifecycle. for node device //' $T/events
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        let expected = """
            Node device \(name) created from $T/mdev.xml

            05.00ab
            Destroyed node device '\(name)'

            Node device '\(name)' defined from '$T/mdev.xml'

            Active:         no
            Persistent:     yes
            Device \(name) started

            Active:         yes
            Persistent:     yes
            05.00ab
            Destroyed node device '\(name)'

            Undefined node device '\(name)'

            """.replacingOccurrences(of: "$T", with: tmpDir(r.stdout))
        XCTAssertTrue(r.stdout.hasPrefix(expected), r.stdout)
        // The lifecycle events, in order (libvirt may add a transient
        // Defined/Undefined pair when it re-reads mdevctl).
        let events = r.stdout.dropFirst(expected.count).split(separator: "\n").map { String($0.dropFirst(name.count + 2)) }
        var wanted = ["Created", "Deleted", "Defined", "Created", "Deleted", "Undefined"][...]
        for e in events where e == wanted.first { wanted.removeFirst() }
        XCTAssertTrue(wanted.isEmpty, "missing \(wanted) in \(events)")
        XCTAssertEqual(events.last, "Undefined")
    }

    /// The test's temporary directory as virsh printed it.
    func tmpDir(_ out: String) -> String {
        guard let r = out.range(of: "/tmp/vfio-ap-sim-libvirt."), let end = out[r.upperBound...].firstIndex(of: "/") else { return "$T" }
        return String(out[r.lowerBound..<end])
    }
}
