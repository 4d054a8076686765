import APCore
import Foundation
@testable import StateStore
import TestSupport
import XCTest

/// Saving a running host: each change is in the file when the update that
/// made it returns; failures are reported and retried, never thrown at the
/// writer.
final class StatePersisterTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try TestDirectory.make("persister")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n: UInt64 = 0
        func next() -> UInt64 { lock.lock(); defer { lock.unlock() }; n += 1; return n }
        var value: UInt64 { lock.lock(); defer { lock.unlock() }; return n }
    }

    private func persister(_ file: StateFile, _ reports: Reports) -> StatePersister {
        StatePersister(file: file, hostName: "h", topology: TopologyIdentity(name: "persisted", digest: "0x0"),
                       report: { reports.add($0) })
    }

    func testEveryChangeIsOnDiskWhenItsUpdateReturns() throws {
        let host = try makeTestHost()
        let file = StateFile(path: dir + "/h.state")
        let reports = Reports()
        let p = persister(file, reports)
        let counter = Counter()
        let nodes = NodeAttributes(path: "/bus/ap/aqmask", mode: 0o640, uid: nil, gid: 7)
        let chmodded = Counter()
        p.nodeAttributes = { chmodded.value > 0 ? [nodes] : [] }
        // Asked with the host locked, once per change.
        try p.attach(to: host) { SurroundingState(migrationStates: [:], ueventSeqnum: counter.next()) }
        var generation: UInt64 = 1
        XCTAssertEqual(try file.read()?.header.generation, generation)
        for op in operations {
            host.update { s in try? op.change(&s) }
            let (header, snapshot) = try XCTUnwrap(try file.read())
            XCTAssertEqual(differences(snapshot.host, host.read { $0 }), [], op.name)
            XCTAssertEqual(snapshot.ueventSeqnum, counter.value, op.name)
            generation += 1
            XCTAssertEqual(header.generation, generation, op.name)
        }
        _ = chmodded.next()
        p.nodeAttributesChanged()
        XCTAssertEqual(try file.read()?.snapshot.nodeAttributes, [nodes])
        XCTAssertEqual(reports.all, [])
    }

    /// Writers on several threads: when all are done the file holds the
    /// last state, whichever thread wrote it.
    func testConcurrentWritersShareSaves() throws {
        let host = try makeTestHost()
        let file = StateFile(path: dir + "/h.state")
        let reports = Reports()
        let p = persister(file, reports)
        try p.attach(to: host) { SurroundingState() }
        host.update { s in try? s.createMdev(uuid: uuidA) }
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for k in 0..<25 {
                host.update { s in
                    let domain = UInt64(i * 25 + k)
                    if s.mdevs[0].matrix.domains.contains(Int(domain)) {
                        try? s.unassign(.domain, id: domain, from: uuidA)
                    } else {
                        try? s.assign(.domain, id: domain, to: uuidA)
                    }
                }
                // This writer's change is in the file now (it may hold later ones too).
                let saved = try? file.read()?.snapshot.host.mdevs.first?.matrix.domains
                XCTAssertEqual(saved?.contains(i * 25 + k), true)
            }
        }
        XCTAssertEqual(try file.read()?.snapshot.host.mdevs.first?.matrix.domains, APMask(ids: 0..<200))
        XCTAssertEqual(reports.all, [])
    }

    /// The directory goes away: writes go on, the failure is reported once,
    /// and the first change after it is back saves everything.
    func testAFailingSaveIsReportedAndRetried() throws {
        let sub = dir + "/sub"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        let host = try makeTestHost()
        let file = StateFile(path: sub + "/h.state")
        let reports = Reports()
        let p = persister(file, reports)
        try p.attach(to: host) { SurroundingState() }
        try FileManager.default.removeItem(atPath: sub)
        host.update { s in try? s.createMdev(uuid: uuidA) }
        host.update { s in try? s.assign(.adapter, id: 5, to: uuidA) }
        let failure = "cannot save the host's state to \(file.path): create \(file.temporaryPath): No such file or directory; the host goes on serving, and saves again at its next change"
        XCTAssertEqual(reports.all, [failure])
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        p.finish()
        XCTAssertEqual(reports.all, [failure, "the host's state is saved to \(file.path) again"])
        let saved = try XCTUnwrap(try file.read()).snapshot.host
        XCTAssertEqual(saved.mdevs.map(\.uuid), [uuidA])
        XCTAssertEqual(saved.mdevs.first?.matrix.adapters, APMask(ids: [5]))
    }

    /// A host that cannot save at all does not start: attach throws.
    func testAttachFailsWhenTheFileCannotBeWritten() throws {
        let host = try makeTestHost()
        let file = StateFile(path: dir + "/missing/h.state")
        let reports = Reports()
        XCTAssertThrowsError(try persister(file, reports).attach(to: host) { SurroundingState() }) { error in
            XCTAssertEqual("\(error)", "cannot save the host's state to \(file.path): create \(file.temporaryPath): No such file or directory")
        }
        XCTAssertEqual(reports.all, [])
    }
}
