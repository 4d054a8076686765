/// What a host name may be: it becomes a file name (`<dir>/<name>.sock`),
/// never a path. 1 to `maximumLength` bytes of [A-Za-z0-9._-], not
/// starting with '.' or '-' (so no "..", no hidden files, no options).
public enum HostNameRule {
    public static let maximumLength = 64
    /// A generated name is the topology's name, '-' and six hex digits.
    public static let generatedSuffixLength = 7
    public static let maximumTopologyNameLength = maximumLength - generatedSuffixLength

    public static func isValid(_ name: String, maximumLength: Int = maximumLength) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumLength, bytes[0] != UInt8(ascii: "."), bytes[0] != UInt8(ascii: "-") else {
            return false
        }
        return bytes.allSatisfy { b in
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    /// The rule in words, for error messages.
    public static func describe(maximumLength: Int = maximumLength) -> String {
        "1 to \(maximumLength) characters of A-Z, a-z, 0-9, '.', '_' and '-', and does not start with '.' or '-'"
    }
}
