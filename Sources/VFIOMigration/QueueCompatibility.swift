import APCore

/// Whether a source queue's hardware may be migrated to a target queue, and
/// the kernel-log lines that say why not (patch 09 `qinfo_compatible`,
/// `report_qinfo_incompatibilities`).
///
/// The rule is the one vfio-ap.rst documents and patch 09 describes, where
/// the v2 code differs (docs/FIDELITY.md): facilities, mode, APXA and SLCF
/// equal; a stateless-only source may go to a full-native target but not the
/// reverse; BS 0 on both sides; target AP type the same or newer.
public enum QueueCompatibility {
    /// `CLASSIFICATION_NATIVE_FCN_MASK`.
    static let nativeFunction = 0x80

    public static func isCompatible(source s: HardwareInfo, target t: HardwareInfo) -> Bool {
        s.apsc == t.apsc && s.mex4k == t.mex4k && s.crt4k == t.crt4k
            && s.cca == t.cca && s.accel == t.accel && s.ep11 == t.ep11
            && s.apxa == t.apxa && s.slcf == t.slcf
            && !(s.classification & nativeFunction != 0 && t.classification & nativeFunction == 0)
            && s.bindState == 0 && t.bindState == 0
            && s.apType <= t.apType
    }

    /// The lines logged on the target mdev for an incompatible queue, in the
    /// order and words of the v2 format strings; the AP type line only when
    /// the types are incompatible.
    public static func report(apqn q: APQN, source s: HardwareInfo, target t: HardwareInfo) -> [String] {
        var lines = ["Migration failed: Source and target queue (\(q)) not compatible"]
        func pair(_ differs: Bool, _ sourceHas: Bool, installed: String, notInstalled: String,
                  sourceSuffix: String, targetSuffix: String) {
            guard differs else { return }
            if sourceHas {
                lines.append("\(installed)\(sourceSuffix) \(q)")
                lines.append("\(notInstalled)\(targetSuffix) \(q)")
            } else {
                lines.append("\(notInstalled)\(sourceSuffix) \(q)")
                lines.append("\(installed)\(targetSuffix) \(q)")
            }
        }
        // report_facilities_compatibility
        for (name, a, b) in [("APSC", s.apsc, t.apsc), ("mex4k", s.mex4k, t.mex4k), ("crt4k", s.crt4k, t.crt4k)] {
            pair(a != b, a, installed: "\(name) facility installed", notInstalled: "\(name) facility not installed",
                 sourceSuffix: " in source queue", targetSuffix: " in target queue")
        }
        // report_mode_compatibility: the format strings drop some "in"s.
        if s.cca != t.cca {
            if s.cca {
                lines.append("Coprocessor-mode facility installed in source queue \(q)")
                lines.append("Coprocessor-mode facility not installed target queue \(q)")
            } else {
                lines.append("Coprocessor-mode facility not installed in source queue \(q)")
                lines.append("Coprocessor-mode facility installed target queue \(q)")
            }
        }
        pair(s.accel != t.accel, s.accel, installed: "Accelerator-mode facility installed",
             notInstalled: "Accelerator-mode facility not installed", sourceSuffix: " source queue", targetSuffix: " target queue")
        pair(s.ep11 != t.ep11, s.ep11, installed: "XCP-mode facility installed",
             notInstalled: "XCP-mode facility not installed", sourceSuffix: " source queue", targetSuffix: " target queue")
        // report_apxa_compatibility
        pair(s.apxa != t.apxa, s.apxa, installed: "AP-extended-addressing (APXA) facility installed",
             notInstalled: "AP-extended-addressing (APXA) facility not installed",
             sourceSuffix: " in source queue", targetSuffix: " in target queue")
        // report_slcf_compatibility
        pair(s.slcf != t.slcf, s.slcf, installed: "Stateless-command-filtering (SLCF) available",
             notInstalled: "Stateless-command-filtering (SLCF) not available",
             sourceSuffix: " in source queue", targetSuffix: " in target queue")
        // report_class_compatibility: only full native to stateless-only is refused.
        if s.classification & nativeFunction != 0 && t.classification & nativeFunction == 0 {
            lines.append("Full native card function available on source queue \(q)")
            lines.append("Only stateless functions available on target queue \(q)")
        }
        // report_aptype_compatibility
        if s.apType > t.apType {
            lines.append("AP type of source (\(KernelFormat.hex(s.apType, width: 2))) not compatible with target (\(KernelFormat.hex(t.apType, width: 2)))")
        }
        // report_bs_compatibility
        if s.bindState != 0 || t.bindState != 0 {
            lines.append("Bind/associate state for source (\(String(s.bindState, radix: 16))) and target (\(String(t.bindState, radix: 16))) queue \(q) are not compatible")
        }
        return lines
    }
}
