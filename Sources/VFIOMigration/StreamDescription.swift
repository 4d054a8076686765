import APCore

/// A readable rendering of a save stream (`vfio-ap-sim migration decode`).
public enum StreamDescription {
    public static func lines(_ s: APConfigStream) -> [String] {
        var out = ["num_queues: \(s.queueCount)"]
        for e in s.entries {
            let hw = e.hardwareInfo
            var facilities: [String] = []
            if hw.apsc { facilities.append("APSC") }
            if hw.mex4k { facilities.append("AP4KM") }
            if hw.crt4k { facilities.append("AP4KC") }
            if hw.apxa { facilities.append("APXA") }
            if hw.slcf { facilities.append("SLCF") }
            let mode = hw.mode.map { $0 == .accelerator ? "accel" : $0.rawValue } ?? "-"
            let cls = hw.classification & 0x80 != 0 ? "native" : (hw.classification & 0x40 != 0 ? "stateless" : "0x" + KernelFormat.hex(hw.classification, width: 2))
            out.append("\(e.apqn) hwinfo \(KernelFormat.hwinfo(hw.value)) type \(hw.apType) mode \(mode) facilities \(facilities.isEmpty ? "-" : facilities.joined(separator: ",")) class \(cls) bs \(hw.bindState) depth \(hw.queueDepth) ml \(hw.messageLengthUnits)")
        }
        return out
    }
}
