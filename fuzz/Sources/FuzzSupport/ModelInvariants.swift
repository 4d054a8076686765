import APCore

/// The model invariants (HostInvariants, shared with the unit tests) as a
/// fuzzing property: a broken one aborts, so libFuzzer keeps the input.
public enum ModelInvariants {
    public static func check(_ s: HostState, overridesUsed: Bool) {
        let broken = HostInvariants.violations(s, overridesUsed: overridesUsed)
        if !broken.isEmpty { violation(broken.joined(separator: "; ")) }
    }
}
