import ArgumentParser
import Foundation

/// A subcommand that is exactly one request to a running host.
protocol HostRequestCommand: ParsableCommand {
    var target: HostTarget { get }
    var requestWords: [String] { get }
}

extension HostRequestCommand {
    func run() throws { try request(target, requestWords) }
}

/// Sends one request to the target host and prints its output; a refusal
/// is printed as `vfio-ap-sim: <reason>` with exit status 1.
func request(_ target: HostTarget, _ words: [String]) throws {
    do {
        let out = try ControlClient(socket: try target.socketPath()).send(words.joined(separator: " "))
        FileHandle.standardOutput.write(out.data(using: .utf8)!)
    } catch let e as UserError {
        let text = e.description.hasPrefix("errno=") ? String(e.description.drop { $0 != " " }.dropFirst()) : e.description
        fail(text)
    } catch let e as ControlClient.HostUnreachable {
        fail(e.description)
    }
}
