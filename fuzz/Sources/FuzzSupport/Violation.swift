import Foundation

/// A broken property found by a harness: printed, then the process aborts,
/// so libFuzzer saves the input as a crash.
public func violation(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    FileHandle.standardError.write("fuzz: property violated (\(file):\(line)): \(message)\n".data(using: .utf8)!)
    abort()
}
