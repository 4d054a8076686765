import Foundation
import XCTest

/// What a finished subprocess left behind.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
}

/// Collects everything a pipe delivers, on a background thread, so that a
/// child filling one pipe never blocks on the other.
final class PipeCollector: @unchecked Sendable {
    let pipe = Pipe()
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    func start() {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); data.append(chunk); lock.unlock()
            }
            done.signal()
        }
    }

    /// What has arrived so far.
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }

    /// Waits for EOF (all writers closed), at most `timeout` seconds.
    @discardableResult
    func waitForEOF(timeout: TimeInterval) -> Bool { done.wait(timeout: .now() + timeout) == .success }
}

/// Runs a program to completion with a timeout (then SIGKILL), returning its
/// exit status and both outputs.
enum ProcessRunner {
    static func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
                    timeout: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arguments[0])
        p.arguments = Array(arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = PipeCollector(), err = PipeCollector()
        p.standardOutput = out.pipe
        p.standardError = err.pipe
        let input = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        out.start(); err.start()
        try p.run()
        if let stdin {
            input.fileHandleForWriting.write(stdin.data(using: .utf8)!)
            try? input.fileHandleForWriting.close()
        }
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { p.waitUntilExit(); finished.signal() }
        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            kill(p.processIdentifier, SIGKILL)
            finished.wait()
            XCTFail("timed out after \(timeout) s: \(arguments.joined(separator: " "))", file: file, line: line)
        }
        out.waitForEOF(timeout: 5); err.waitForEOF(timeout: 5)
        return ProcessResult(status: p.terminationStatus, stdout: out.text, stderr: err.text, timedOut: timedOut)
    }
}
