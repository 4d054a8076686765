import SystemPackage

/// Generic driver-core behaviour (drivers/base/bus.c, lib/kobject_uevent.c).
extension HostState {
    public mutating func setDriversAutoprobe(bus: String, _ on: Bool) {
        self.bus.driversAutoprobe[bus] = on
        record(.busAttributes)
    }

    /// `kobject_synth_uevent`: checks the action word and its arguments and
    /// announces the event (`object` nil: filtered, nothing is sent); the
    /// event itself changes no state. Unknown input logs the kernel's warning
    /// and is EINVAL.
    public mutating func synthesizeUevent(devpath: String, object: UeventObject?, _ bytes: [UInt8]) throws {
        var s = bytes
        if let last = s.last, last == 0x0a || last == 0 { s.removeLast() }
        let actions = ["add", "remove", "change", "move", "online", "offline", "bind", "unbind"]
        let firstEnd = s.firstIndex(of: 0x20) ?? s.count
        let action = String(decoding: s[..<firstEnd], as: UTF8.self)
        guard !s.isEmpty, actions.contains(action) else {
            log(.warning, "synth uevent: \(devpath): unknown uevent action string")
            throw Errno.invalidArgument
        }
        guard firstEnd < s.count else {
            if let object { record(.announced(.synthetic(object, action: action, variables: ["SYNTH_UUID=0"]))) }
            return
        }
        // kobject_action_args: a UUID, then KEY=value pairs.
        let args = String(decoding: s[(firstEnd + 1)...], as: UTF8.self).split(separator: " ")
        let uuidOK = args.first.map { isUUID(String($0)) } ?? false
        let pairsOK = args.dropFirst().allSatisfy { pair in
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else { return false }
            return pair[..<eq].allSatisfy { $0.isLetter || $0.isNumber }
        }
        guard uuidOK, pairsOK else {
            log(.warning, "synth uevent: \(devpath): incorrect uevent action arguments")
            throw Errno.invalidArgument
        }
        let variables = ["SYNTH_UUID=\(args[0])"] + args.dropFirst().map { "SYNTH_ARG_\($0)" }
        // A device the uevent filter rejects sends nothing.
        if let object { record(.announced(.synthetic(object, action: action, variables: variables))) }
    }
}
