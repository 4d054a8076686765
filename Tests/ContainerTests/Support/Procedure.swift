import Foundation

/// The vfio-ap.rst example as a consumer runs it with a plain shell (busybox
/// sh or dash) against /sys: secure the masks, create an mdev, assign
/// adapters 5, 6 and domains 4, 0xab, read the matrix, try to give domain 4
/// back to the host (EBUSY), remove the mdev; then read some of the
/// machine's own entries. Exact stdout in `transcript(cpuOnline:)`; the
/// refused write's message goes to stderr (the shell's wording).
enum Procedure {
    static let uuid = "62177883-f1bb-47f0-914d-32a22e3a8804"

    static let script = """
        echo -5,-6 > /sys/bus/ap/apmask
        echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask
        cat /sys/bus/ap/apmask /sys/bus/ap/aqmask
        cd /sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough
        echo \(uuid) > create
        cd /sys/devices/vfio_ap/matrix/\(uuid)
        echo 5 > assign_adapter
        echo 6 > assign_adapter
        echo 4 > assign_domain
        echo 0xab > assign_domain
        cat matrix
        if echo +4 > /sys/bus/ap/aqmask; then echo "aqmask +4: accepted"; else echo "aqmask +4: refused"; fi
        echo 1 > remove
        cd /
        ls /sys/devices/vfio_ap/matrix
        echo "== the machine's own entries"
        cat /sys/devices/system/cpu/online
        [ -d /sys/fs/cgroup ] && echo "fs/cgroup present"
        """

    static let apmaskSecured = "0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n"
    static let aqmaskSecured = "0xf7fffffffffffffffeffffffffffffffffffffffffeffffffffffffffffffffe\n"
    static let allOnesMask = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n"
    static let features = "guest_matrix hotplug ap_config migratable\n"
    /// The shell's message for the refused write: busybox sh says
    /// `sh: write error: Device or resource busy`, dash says `I/O error` for
    /// every failed write (the images of VFIO_AP_SIM_TEST_IMAGE have dash).
    static func isBusyMessage(_ stderr: String) -> Bool {
        stderr.contains("Device or resource busy") || stderr.contains("echo: I/O error")
    }
    static let busyLogLine = "Can not reserve queue 05.0004 for host driver: in use by mdev"

    /// The machine's /sys/devices/system/cpu/online, which the consumer must see.
    static var cpuOnline: String {
        (try? String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8)) ?? "?"
    }

    static var transcript: String {
        apmaskSecured + aqmaskSecured
            + "05.0004\n05.00ab\n06.0004\n06.00ab\n"
            + "aqmask +4: refused\n"
            + "driver\nfeatures\nmdev_supported_types\nsubsystem\nuevent\n"
            + "== the machine's own entries\n"
            + cpuOnline
            + "fs/cgroup present\n"
    }
}
