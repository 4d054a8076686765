import Foundation
import XCTest

/// Runs a program to completion with a timeout (then SIGKILL and a test
/// failure), returning its exit status and both outputs. The child gets
/// LC_ALL=C plus `environment`, and `stdin` (else /dev/null).
public enum ProcessRunner {
    public static func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
                           currentDirectory: String? = nil, timeout: TimeInterval = 30,
                           file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arguments[0])
        p.arguments = Array(arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        if let currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = PipeCollector(), err = PipeCollector()
        p.standardOutput = out.pipe
        p.standardError = err.pipe
        let input = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        out.start(); err.start()
        try p.run()
        let pid = p.processIdentifier
        if let stdin {
            input.fileHandleForWriting.write(stdin.data(using: .utf8)!)
            try? input.fileHandleForWriting.close()
        }
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { p.waitUntilExit(); finished.signal() }
        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            kill(pid, SIGKILL)
            finished.wait()
            XCTFail("timed out after \(timeout) s: \(arguments.joined(separator: " "))", file: file, line: line)
        }
        out.waitForEOF(timeout: 5); err.waitForEOF(timeout: 5)
        return ProcessResult(status: p.terminationStatus, stdout: out.text, stderr: err.text, pid: pid, timedOut: timedOut)
    }
}
