import APCore

/// What a host answers on its control socket.
enum ControlRequests {
    static func handler(for host: S390Host) -> @Sendable (String) -> Result<String, UserError> {
        { line in
            let words = line.split(separator: " ").map(String.init)
            switch words.first {
            case "dmesg": return .success(host.dmesg())
            case "name": return .success(host.name + "\n")
            default: return .failure(UserError("unknown request '\(line)'"))
            }
        }
    }
}
