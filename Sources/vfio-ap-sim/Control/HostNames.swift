import Foundation

/// Host names: how other commands find a host (`--host`), and the name of
/// its control socket.
enum HostNames {
    /// A name no running host has: the topology's name and six random hex
    /// digits (`s390-vfio-ap-example-3fa9c1`), so that any number of hosts of
    /// one topology run side by side without options.
    /// Without a directory (exec's host, whose socket is in a scratch
    /// directory of its own) any suffix does.
    static func unique(base: String, runtimeDirectory: String?) -> String {
        while true {
            let suffix = String(UInt32.random(in: 0...0xff_ffff), radix: 16)
            let name = base + "-" + String(repeating: "0", count: 6 - suffix.count) + suffix
            guard let runtimeDirectory else { return name }
            if !FileManager.default.fileExists(atPath: "\(runtimeDirectory)/\(name).sock") {
                return name
            }
        }
    }
}
