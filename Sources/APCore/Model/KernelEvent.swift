/// A kobject whose uevents the emulated kernel sends.
public enum UeventObject: Hashable, Sendable {
    /// The AP root device `/devices/ap` (ap_bus.c sets its bus to the AP bus).
    case apRoot
    case card(Int)
    case queue(APQN)
    /// The vfio_ap matrix device `/devices/vfio_ap/matrix`.
    case matrix
    case mdev(String)
    /// `vfio-dev/vfio<N>` below an mdev (class vfio-dev).
    case vfioDevice(mdev: String, index: Int)
    /// A bus kobject `/bus/<name>` (subsystem `bus`).
    case bus(String)
    /// A driver kobject `/bus/<bus>/drivers/<name>` (subsystem `drivers`).
    case driver(bus: String, name: String)
}

/// What the kernel announces with `kobject_uevent` at the moment it
/// happens: recorded by the rules in the order the kernel sends them, turned
/// into uevent records (devpath, subsystem, environment, SEQNUM) by the
/// Events layer.
public enum KernelEvent: Hashable, Sendable {
    /// KOBJ_ADD after device_add.
    case add(UeventObject)
    /// KOBJ_REMOVE in device_del.
    case remove(UeventObject)
    /// KOBJ_BIND from driver_bound (the environment then has DRIVER=).
    case bind(UeventObject)
    /// KOBJ_UNBIND from __device_release_driver (no DRIVER=, MODALIAS zapped).
    case unbind(UeventObject)
    /// KOBJ_CHANGE with extra variables (`APMASK=0x...`, `CONFIG=1`, ...).
    case change(UeventObject, [String])
    /// A write to a `uevent` file (`kobject_synth_uevent`): the action word,
    /// and `SYNTH_UUID=...` plus `SYNTH_ARG_KEY=value` variables.
    case synthetic(UeventObject, action: String, variables: [String])
}
