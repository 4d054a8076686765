/// What a finished subprocess left behind.
public struct ProcessResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var pid: Int32
    public var timedOut: Bool

    /// stdout split at newlines, without the empty string after the last one.
    public var lines: [String] {
        let all = stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return all.last == "" ? Array(all.dropLast()) : all
    }
}
