import APCore
import Sysfs

/// Turns the events a model change announced into uevent records, in the
/// order the kernel sends them, with one SEQNUM counter for all (the
/// kernel's `uevent_seqnum`). Runs with the host lock held, so the state it
/// reads is the state right after the change.
public struct UeventBuilder: Sendable {
    /// The last SEQNUM handed out.
    public private(set) var seqnum: UInt64

    public init(seqnum: UInt64 = 0) { self.seqnum = seqnum }

    public mutating func records(for changes: [ModelChange], in s: HostState) -> [UeventRecord] {
        var out: [UeventRecord] = []
        for change in changes {
            guard case .announced(let event) = change else { continue }
            out.append(record(event, s))
        }
        return out
    }

    private mutating func record(_ event: KernelEvent, _ s: HostState) -> UeventRecord {
        let action: String, object: UeventObject
        var extra: [String] = []
        switch event {
        case .add(let o): (action, object) = ("add", o)
        case .remove(let o): (action, object) = ("remove", o)
        case .bind(let o): (action, object) = ("bind", o)
        case .unbind(let o): (action, object) = ("unbind", o)
        case .change(let o, let vars): (action, object, extra) = ("change", o, vars)
        case .synthetic(let o, let a, let vars): (action, object, extra) = (a, o, vars)
        }
        var env = UeventObjects.eventEnvironment(object, s) ?? []
        switch event {
        case .add, .remove, .unbind:
            // device_add announces before the probe binds a driver;
            // __device_release_driver and device_del once it is gone.
            env.removeAll { $0.hasPrefix("DRIVER=") }
        default:
            break
        }
        // kobject_uevent_env zaps MODALIAS for every unbind, synthetic too.
        if action == "unbind" { env.removeAll { $0.hasPrefix("MODALIAS=") } }
        seqnum += 1
        // The caller's variables (envp_ext) come right after SUBSYSTEM.
        return UeventRecord(action: action, devpath: UeventObjects.devpath(object),
                            subsystem: UeventObjects.subsystem(object), environment: extra + env, seqnum: seqnum)
    }
}
