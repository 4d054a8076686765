import APCore

/// Where a uevent's kobject is and what `dev_uevent` says about it: one
/// place for the `uevent` files and for the events the Events layer sends.
public enum UeventObjects {
    /// DEVPATH: the object's path below /sys.
    public static func devpath(_ o: UeventObject) -> String {
        switch o {
        case .apRoot: return "/devices/ap"
        case .card(let id): return "/devices/ap/" + KernelFormat.cardName(id)
        case .queue(let q): return "/devices/ap/\(KernelFormat.cardName(q.card))/\(q)"
        case .matrix: return ChangeMapper.matrix
        case .mdev(let uuid): return ChangeMapper.matrix + "/" + uuid
        case .vfioDevice(let uuid, let index): return ChangeMapper.matrix + "/\(uuid)/vfio-dev/vfio\(index)"
        case .bus(let name): return "/bus/" + name
        case .driver(let bus, let name): return "/bus/\(bus)/drivers/\(name)"
        }
    }

    /// SUBSYSTEM: the bus or class of a device; `bus` and `drivers` (the
    /// names of their ksets) for bus and driver kobjects.
    public static func subsystem(_ o: UeventObject) -> String {
        switch o {
        case .apRoot, .card, .queue: return "ap"
        case .matrix: return "matrix"
        case .mdev: return "mdev"
        case .vfioDevice: return "vfio-dev"
        case .bus: return "bus"
        case .driver: return "drivers"
        }
    }

    /// `dev_uevent`'s variables in its order (DEVTYPE, DRIVER, then the
    /// bus's: ap_uevent's DEV_TYPE, MODALIAS, MODE); nil when the object is
    /// gone.
    public static func environment(_ o: UeventObject, _ s: HostState) -> [String]? {
        switch o {
        case .card(let id) where !s.hasCardDevice(id): return nil
        case .queue(let q) where s.queues[q] == nil: return nil
        default: return eventEnvironment(o, s)
        }
    }

    /// The variables of an event about the object, also when the change
    /// the event belongs to removed it: `device_del` sends KOBJ_UNBIND and
    /// KOBJ_REMOVE while the device still answers `dev_uevent`, and a
    /// removed card or queue still has its adapter's hardware info.
    public static func eventEnvironment(_ o: UeventObject, _ s: HostState) -> [String]? {
        switch o {
        case .apRoot, .bus, .driver:
            // ap_uevent returns nothing for the root; bus and driver
            // kobjects have no uevent callback.
            return []
        case .card(let id):
            guard let c = s.adapters[id] else { return nil }
            var env = ["DEVTYPE=ap_card"]
            if c.boundToCEX4Card { env.append("DRIVER=cex4card") }
            let type = s.deviceType(ofCard: id)
            env.append("DEV_TYPE=" + KernelFormat.upperHex(type, width: 4))
            env.append("MODALIAS=" + KernelFormat.modalias(deviceType: type))
            if let mode = c.cardHardwareInfo.mode { env.append("MODE=" + mode.ueventName) }
            return env
        case .queue(let q):
            var env = ["DEVTYPE=ap_queue"]
            if let d = s.queues[q]?.driver { env.append("DRIVER=\(d.rawValue)") }
            // A queue's MODE comes from its card's hwinfo.
            if let mode = s.adapters[q.card]?.cardHardwareInfo.mode { env.append("MODE=" + mode.ueventName) }
            return env
        case .matrix:
            return ["DRIVER=vfio_ap"]
        case .mdev(let uuid):
            // mdev_device_create always binds vfio_ap_mdev.
            return s.mdevIndex(uuid: uuid) == nil ? nil : ["DRIVER=vfio_ap_mdev"]
        case .vfioDevice(let uuid, _):
            // No CDEV: no devt, bus, type or driver.
            return s.mdevIndex(uuid: uuid) == nil ? nil : []
        }
    }
}
