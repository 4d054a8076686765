/// Which objects one model change touched. Every mutation records these so
/// the layers above can invalidate cached pages and emit uevents.
public enum ModelChange: Hashable, Sendable {
    /// Values of /sys/bus/ap attributes (masks, bindings, settings).
    case busAttributes
    /// Values of a card's attributes.
    case card(Int)
    /// A card's driver binding (driver link, zcrypt attributes, driver dir links).
    case cardBinding(Int)
    case cardAdded(Int)
    case cardRemoved(Int)
    /// Values of a queue's attributes.
    case queue(APQN)
    /// A queue's driver binding (driver link, `status` or zcrypt attributes).
    case queueBinding(APQN)
    case queueAdded(APQN)
    case queueRemoved(APQN)
    /// An mdev's matrix, guest matrix, control domains or ap_config.
    case mdev(String)
    case mdevAdded(String)
    case mdevRemoved(String)
    /// The mdev type's `available_instances`.
    case mdevType
    case kernelLog
    /// A uevent the kernel sends, in the order of the changes around it.
    case announced(KernelEvent)
    /// Simulated guests started, stopped or changed.
    case guests
    /// The machine's side of the AP configuration (`HostState.hardware`:
    /// what QCI and TAPQ answer now), which no file shows until a bus scan
    /// brings the kernel's view up to it: for persistence only.
    case hardware
    /// An open mdev's VFIO migration state (`mig_state`), which no sysfs
    /// file shows: for persistence only.
    case migrationState(String)
}
