import Foundation
import Glibc
import TestSupport
import XCTest

/// A mounted host of four adapters and four domains (adapters 1-2 x
/// domains 1-2 reserved for the host drivers, the rest for vfio_ap), the
/// load workers (`LoadWorker`) run against it, and what the tests read back.
final class LoadRig {
    let host: MountFixture
    let script: String

    init(name: String) throws {
        host = try MountFixture(name: name)
        let topology = host.root + "/load.yaml"
        try LoadTopology.yaml.write(toFile: topology, atomically: true, encoding: .utf8)
        script = host.root + "/worker.py"
        try LoadWorker.script.write(toFile: script, atomically: true, encoding: .utf8)
        try host.start(extraArguments: ["--topology", topology])
    }

    var socket: String { host.runtimeDir + "/" + host.name + ".sock" }

    /// One worker process: python3 with the worker script.
    final class Worker {
        let process = Process()
        let result: String
        let errors = PipeCollector()

        init(rig: LoadRig, index: Int, seed: Int, operations: Int) throws {
            result = rig.host.root + "/worker\(index).json"
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [rig.script, "\(seed)", "\(operations)", rig.host.mountpoint, rig.socket, result, "w\(index)g"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors.pipe
            process.standardInput = FileHandle.nullDevice
            errors.start()
            try process.run()
        }

        /// Operations done so far (the worker writes it every 50).
        var progress: Int { Int((try? String(contentsOfFile: result + ".progress", encoding: .utf8)) ?? "") ?? 0 }

        /// kind -> outcome -> count, once the worker has finished.
        func counts() throws -> [String: [String: Int]] {
            let data = try Data(contentsOf: URL(fileURLWithPath: result))
            guard let counts = try JSONSerialization.jsonObject(with: data) as? [String: [String: Int]] else {
                throw FixtureError(description: "\(result): not a count table")
            }
            return counts
        }
    }

    /// Waits for every worker, at most `timeout` s in all (a hang guard:
    /// the rest are killed and the test fails naming them).
    static func wait(_ workers: [Worker], timeout: TimeInterval, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(timeout)
        while workers.contains(where: { $0.process.isRunning }) && Date() < deadline { usleep(20_000) }
        for (k, w) in workers.enumerated() where w.process.isRunning {
            XCTFail("worker \(k) still running after \(timeout) s (\(w.progress) operations done): killed", file: file, line: line)
            kill(w.process.processIdentifier, SIGKILL)
            w.process.waitUntilExit()
        }
    }

    /// `vfio-ap-sim ARGS --host NAME --runtime-dir DIR`.
    func cli(_ args: String...) throws -> ProcessResult {
        try ProcessRunner.run([Simulator.binary] + args + ["--host", host.name, "--runtime-dir", host.runtimeDir], timeout: 30)
    }

    /// The kernel log without its `[%5lu.%06lu] ` timestamps.
    func kernelLog() throws -> [String] {
        let r = try cli("dmesg")
        guard r.status == 0 else { throw FixtureError(description: "dmesg: \(r.stderr)") }
        return r.lines.map { $0.replacingOccurrences(of: #"^\[ *[0-9]+\.[0-9]{6}\] "#, with: "", options: .regularExpression) }
    }

    func snapshot() throws -> TreeSnapshot {
        let guests = try cli("guest", "list")
        guard guests.status == 0 else { throw FixtureError(description: "guest list: \(guests.stderr)") }
        return try TreeSnapshot(mountpoint: host.mountpoint, guestList: guests.stdout)
    }

    /// One write(2) through the mount: 0 or the errno.
    func write(_ relative: String, _ text: String) -> Int32 {
        let fd = open(host.path(relative), O_WRONLY)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count) }
        return n < 0 ? errno : 0
    }

    /// The host's thread count (/proc/PID/status `Threads:`).
    var threads: Int {
        let status = ProcFile.read("/proc/\(host.pid)/status")
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
        return Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) ?? -1
    }

    func cleanUp() { host.cleanUp() }
}
