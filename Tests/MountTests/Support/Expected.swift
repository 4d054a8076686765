/// Kernel outputs for the default topology (the vfio-ap.rst example host:
/// CEX5 CCA card 05, CEX5 accelerator card 06, domains 0x04 0x47 0xab 0xff),
/// computed by hand from the kernel rules in kernel-sysfs.md and written out
/// literally, so that a formatting change in the emulator shows up here.
enum Expected {
    // The three mdevs of the example (uuid1 and uuid2 appear in vfio-ap.rst).
    static let uuid1 = "62177883-f1bb-47f0-914d-32a22e3a8804"
    static let uuid2 = "cef03c3c-903d-4ecc-9a83-40694cb8aee4"
    static let uuid3 = "4d9a8e2c-1f3b-4b6a-9c2d-7e5f0a1b2c3d"

    static let typeDir = "/sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough"

    /// apmask/aqmask at boot: `0x%016lx%016lx%016lx%016lx\n`, all ones.
    static let allOnesMask = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n"
    /// An empty 256-bit mask as ap_config prints it (no newline).
    static let emptyMask = "0x0000000000000000000000000000000000000000000000000000000000000000"

    /// apmask after `echo -5,-6 > apmask` (= the doc's absolute value).
    static let apmaskSecured = "0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n"
    /// aqmask after `echo -4,-0x47,-0xab,-0xff > aqmask` (= the doc's absolute value).
    static let aqmaskSecured = "0xf7fffffffffffffffeffffffffffffffffffffffffeffffffffffffffffffffe\n"

    /// `ls /sys/bus/ap/drivers/vfio_ap` (C collation) once the masks are set:
    /// the eight queue links and the driver core's bind/module/uevent/unbind.
    static let vfioApDriverListing = """
        05.0004
        05.0047
        05.00ab
        05.00ff
        06.0004
        06.0047
        06.00ab
        06.00ff
        bind
        module
        uevent
        unbind

        """

    /// `cat /sys/bus/ap/devices/card05/hwtype`: CEX5 = AP_DEVICE_TYPE_CEX5 = 11.
    static let card05HWType = "11\n"

    /// vfio_ap_mdev_matrix_show, `%02lx.%04lx\n`, adapter-major.
    static let guest1Matrix = "05.0004\n05.00ab\n06.0004\n06.00ab\n"
    static let guest2Matrix = "05.0047\n05.00ff\n"
    static let guest3Matrix = "06.0047\n06.00ff\n"

    /// ap_config of Guest1: APM {5,6}, AQM {4,0xab}, ADM {} — 201 bytes.
    static let guest1APConfig =
        "0x0600000000000000000000000000000000000000000000000000000000000000,"
        + "0x0800000000000000000000000000000000000000001000000000000000000000,"
        + "0x0000000000000000000000000000000000000000000000000000000000000000\n"

    /// `ls /sys/devices/vfio_ap/matrix` after Guest1's mdev was removed.
    static let matrixListingAfterRemove = """
        \(uuid3)
        \(uuid2)
        driver
        features
        mdev_supported_types
        subsystem
        uevent

        """

    /// uevent files (dev_uevent then ap_uevent; kernfs-details.md §5).
    static let card05Uevent = "DEVTYPE=ap_card\nDRIVER=cex4card\nDEV_TYPE=000B\nMODALIAS=ap:t0B\nMODE=cca\n"
    static let card06Uevent = "DEVTYPE=ap_card\nDRIVER=cex4card\nDEV_TYPE=000B\nMODALIAS=ap:t0B\nMODE=accel\n"
    static let queue0504UeventHost = "DEVTYPE=ap_queue\nDRIVER=cex4queue\nMODE=cca\n"
    static let queue0504UeventVfio = "DEVTYPE=ap_queue\nDRIVER=vfio_ap\nMODE=cca\n"
    static let matrixUevent = "DRIVER=vfio_ap\n"
    static let mdevUevent = "DRIVER=vfio_ap_mdev\n"
}
