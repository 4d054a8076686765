/// A private tmpfs at /tmp for tests that need /tmp to themselves (the
/// default runtime directory, exec's scratch directories), inside a mount
/// namespace of their own.
public enum PrivateTmp {
    /// Shell lines mounting it with `options`. When the simulator (`$SIM`)
    /// lives under /tmp (a checkout there), its top directory is bound back
    /// from the old /tmp, reached through an fd opened before the mount.
    public static func mountLines(options: String = "mode=1777") -> String {
        """
        exec 9</tmp
        mount -t tmpfs -o \(options) vfio-ap-sim-test /tmp || exit 99
        case "$SIM" in /tmp/*) top=${SIM#/tmp/}; top=${top%%/*}; mkdir -p "/tmp/$top" && mount --bind "/proc/$$/fd/9/$top" "/tmp/$top" || exit 98;; esac
        exec 9<&-
        """
    }
}
