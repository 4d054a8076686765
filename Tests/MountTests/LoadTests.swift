import Foundation
import Glibc
import TestSupport
import XCTest

/// Issue 10's load test: 8 processes doing 10,400 random operations in all
/// through a real mount and the control socket (assign/unassign, ap_config,
/// create/remove, masks, bind/unbind, guests, migration states), then the
/// invariants read back from the tree: no APQN in two mdevs, none reserved
/// for the host in an mdev, guest_matrix within matrix, drivers as the
/// masks say, queue status, available_instances and bindings agreeing,
/// and exactly one kernel-log line per refused APQN.
final class LoadTests: XCTestCase {
    static let workers = 8
    static let operationsPerWorker = 1300

    override func setUpWithError() throws { try Simulator.requireFuse() }

    /// What each kind of operation may answer: the kernel's errnos for
    /// these writes (an mdev removed meanwhile: ENOENT at open, ENODEV at
    /// write) and, on the socket, OK or a refusal. Anything else (EIO,
    /// ENOTCONN, ECONNABORTED, no answer) is a failure.
    static let allowed: [String: Set<String>] = {
        let assign: Set<String> = ["ok", "ENOENT", "ENODEV", "EADDRNOTAVAIL", "EADDRINUSE"]
        let unassign: Set<String> = ["ok", "ENOENT", "ENODEV"]
        var table: [String: Set<String>] = [
            "assign_adapter": assign, "assign_domain": assign, "ap_config": assign,
            "assign_control_domain": unassign, "unassign_adapter": unassign, "unassign_domain": unassign,
            "unassign_control_domain": unassign,
            "create": ["ok", "EEXIST"], "remove": ["ok", "ENOENT", "ENODEV"],
            "apmask": ["ok", "EBUSY"], "aqmask": ["ok", "EBUSY"],
            "bind": ["ok", "ENODEV", "EBUSY"], "unbind": ["ok", "ENODEV"],
        ]
        for k in ["guest_start", "guest_stop", "guest_pause", "guest_resume", "set_state", "read_stream", "close_fd"] {
            table[k] = ["ok", "ERR"]
        }
        return table
    }()

    func testRandomOperationsFromEightProcessesKeepEveryInvariant() throws {
        let rig = try LoadRig(name: "load")
        defer { rig.cleanUp() }
        let started = Date()
        let workers = try (0..<Self.workers).map {
            try LoadRig.Worker(rig: rig, index: $0, seed: 1000 + $0, operations: Self.operationsPerWorker)
        }
        LoadRig.wait(workers, timeout: 300)
        let elapsed = Date().timeIntervalSince(started)

        var totals: [String: [String: Int]] = [:]
        for (k, w) in workers.enumerated() {
            XCTAssertEqual(w.process.terminationStatus, 0, "worker \(k): \(w.errors.text)")
            for (kind, outcomes) in try w.counts() {
                for (outcome, n) in outcomes { totals[kind, default: [:]][outcome, default: 0] += n }
            }
        }
        let operations = totals.values.flatMap(\.values).reduce(0, +)
        XCTAssertEqual(operations, Self.workers * Self.operationsPerWorker)
        XCTAssertGreaterThanOrEqual(operations, 10_000)
        for (kind, outcomes) in totals {
            let unexpected = outcomes.filter { outcome, _ in
                !(Self.allowed[kind]?.contains(outcome) ?? false) && !outcome.hasPrefix("ERR-errno-")
            }
            XCTAssertEqual(unexpected, [:], "\(kind) answered \(unexpected)")
        }
        print("load: \(operations) operations by \(Self.workers) processes in \(String(format: "%.1f", elapsed)) s: "
              + totals.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.sorted { $0.key < $1.key })" }.joined(separator: "; "))

        let snapshot = try rig.snapshot()
        XCTAssertEqual(snapshot.violations, [])
        XCTAssertFalse(snapshot.mdevs.isEmpty, "the load left no mdev to check")

        // Every refusal that logs (EADDRINUSE from assign/ap_config, EBUSY
        // from apmask/aqmask) logged at least one line of its kind, and no
        // line of a kind appeared without such a refusal.
        let log = try rig.kernelLog()
        let sharing = log.filter { $0.contains(": Userspace may not assign queue ") }
        let inUse = log.filter { $0.contains(": Can not reserve queue ") }
        let sharingRefusals = ["assign_adapter", "assign_domain", "ap_config"].reduce(0) { $0 + (totals[$1]?["EADDRINUSE"] ?? 0) }
        let inUseRefusals = ["apmask", "aqmask"].reduce(0) { $0 + (totals[$1]?["EBUSY"] ?? 0) }
        XCTAssertGreaterThan(sharingRefusals, 0, "the load never tried to share an APQN")
        XCTAssertGreaterThanOrEqual(sharing.count, sharingRefusals)
        XCTAssertGreaterThanOrEqual(inUse.count, inUseRefusals)
        if inUseRefusals == 0 { XCTAssertEqual(inUse, []) }
        print("load: \(sharingRefusals) sharing refusals logged \(sharing.count) lines, \(inUseRefusals) in-use refusals \(inUse.count) lines")

        // Then, quiet, every refusal the state allows is tried once and its
        // lines counted exactly; nothing may change.
        let probes = try probeRefusals(rig)
        XCTAssertGreaterThan(probes, 0)
        XCTAssertEqual(try rig.snapshot().violations, [])
        // Under `--sanitize=thread` the host is instrumented too: a race
        // it reports makes it exit 66.
        XCTAssertEqual(rig.host.stop(), 0, String(rig.host.stderr.prefix(4000)))
    }

    /// Two mdevs outside the workers' pool, on adapter and domain 0x10 (no
    /// worker touches them), make sure a sharing and an in-use refusal
    /// exist; then every assignment that must be refused is written, and the
    /// log must grow by exactly one line per refused APQN, naming one of the
    /// mdevs that hold it. Returns how many refused writes were checked.
    func probeRefusals(_ rig: LoadRig, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let p1 = "10000000-0000-4000-8000-000000000001", p2 = "10000000-0000-4000-8000-000000000002"
        let create = "devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create"
        for (path, text) in [(create, p1), ("devices/vfio_ap/matrix/\(p1)/assign_adapter", "0x10"),
                             ("devices/vfio_ap/matrix/\(p1)/assign_domain", "0x10"), (create, p2),
                             ("devices/vfio_ap/matrix/\(p2)/assign_domain", "0x10")] {
            XCTAssertEqual(rig.write(path, text), 0, "\(path) \(text)", file: file, line: line)
        }
        let before = try rig.snapshot()
        var probes = 0

        /// Writes `text` to `path`, expects `errno`, and returns the log lines it added.
        func refused(_ path: String, _ text: String, _ expected: Int32) throws -> [String] {
            let old = try rig.kernelLog().count
            let e = rig.write(path, text)
            XCTAssertEqual(e, expected, "\(path) \(text): \(String(cString: strerror(e)))", file: file, line: line)
            probes += 1
            return Array(try rig.kernelLog().dropFirst(old))
        }

        /// The lines must be `prefix(X) + q + suffix(X)` for one holder X
        /// and every q of `queues(X)`, each once.
        func expectOneLinePerQueue(_ lines: [String], holders: [String], _ render: (String, TreeSnapshot.APQNName) -> String,
                                   queues: (String) -> [TreeSnapshot.APQNName], _ what: String) {
            let match = holders.first { x in Set(queues(x).map { render(x, $0) }) == Set(lines) }
            XCTAssertNotNil(match, "\(what): lines \(lines) are not one line per refused APQN of one of \(holders)", file: file, line: line)
            if let x = match { XCTAssertEqual(lines.count, queues(x).count, "\(what): a line twice", file: file, line: line) }
        }

        let mdevs = before.mdevs
        for (m, mdev) in mdevs.sorted(by: { $0.key < $1.key }) {
            // assign_adapter of another mdev's adapter: ownership first
            // (EADDRNOTAVAIL, no line), then sharing (EADDRINUSE).
            for a in Set(mdevs.values.flatMap(\.adapters)).subtracting(mdev.adapters).sorted() where !mdev.domains.isEmpty {
                let holders = mdevs.filter { $0.key != m && $0.value.adapters.contains(a) && !$0.value.domains.isDisjoint(with: mdev.domains) }
                let owned = mdev.domains.contains { before.reservedForHost(.init(card: a, domain: $0)) }
                guard owned || !holders.isEmpty else { continue }
                let lines = try refused("devices/vfio_ap/matrix/\(m)/assign_adapter", "\(a)\n", owned ? EADDRNOTAVAIL : EADDRINUSE)
                if owned { XCTAssertEqual(lines, [], "EADDRNOTAVAIL logs nothing", file: file, line: line); continue }
                expectOneLinePerQueue(lines, holders: holders.keys.sorted(),
                                      { x, q in "vfio_ap_mdev \(m): Userspace may not assign queue \(q) to mdev: already assigned to \(x)" },
                                      queues: { x in mdev.domains.intersection(mdevs[x]!.domains).sorted().map { .init(card: a, domain: $0) } },
                                      "assign_adapter \(a) to \(m)")
            }
            for d in Set(mdevs.values.flatMap(\.domains)).subtracting(mdev.domains).sorted() where !mdev.adapters.isEmpty {
                let holders = mdevs.filter { $0.key != m && $0.value.domains.contains(d) && !$0.value.adapters.isDisjoint(with: mdev.adapters) }
                let owned = mdev.adapters.contains { before.reservedForHost(.init(card: $0, domain: d)) }
                guard owned || !holders.isEmpty else { continue }
                let lines = try refused("devices/vfio_ap/matrix/\(m)/assign_domain", "\(d)\n", owned ? EADDRNOTAVAIL : EADDRINUSE)
                if owned { XCTAssertEqual(lines, [], "EADDRNOTAVAIL logs nothing", file: file, line: line); continue }
                expectOneLinePerQueue(lines, holders: holders.keys.sorted(),
                                      { x, q in "vfio_ap_mdev \(m): Userspace may not assign queue \(q) to mdev: already assigned to \(x)" },
                                      queues: { x in mdev.adapters.intersection(mdevs[x]!.adapters).sorted().map { .init(card: $0, domain: d) } },
                                      "assign_domain \(d) to \(m)")
            }
        }
        // apmask/aqmask taking back an ID an mdev uses: EBUSY, one line per
        // APQN of the (first) mdev holding it, on that mdev.
        let inUse = { (x: String, q: TreeSnapshot.APQNName) in "vfio_ap_mdev \(x): Can not reserve queue \(q) for host driver: in use by mdev" }
        for a in Set(mdevs.values.flatMap(\.adapters)).subtracting(before.apmask).sorted() {
            let holders = mdevs.filter { $0.value.adapters.contains(a) && !$0.value.domains.isEmpty }
            guard !holders.isEmpty else { continue }
            let lines = try refused("bus/ap/apmask", "+\(a)\n", EBUSY)
            expectOneLinePerQueue(lines, holders: holders.keys.sorted(), inUse,
                                  queues: { x in mdevs[x]!.domains.sorted().map { .init(card: a, domain: $0) } }, "apmask +\(a)")
        }
        for d in Set(mdevs.values.flatMap(\.domains)).subtracting(before.aqmask).sorted() {
            let holders = mdevs.filter { $0.value.domains.contains(d) && !$0.value.adapters.isEmpty }
            guard !holders.isEmpty else { continue }
            let lines = try refused("bus/ap/aqmask", "+\(d)\n", EBUSY)
            expectOneLinePerQueue(lines, holders: holders.keys.sorted(), inUse,
                                  queues: { x in mdevs[x]!.adapters.sorted().map { .init(card: $0, domain: d) } }, "aqmask +\(d)")
        }
        XCTAssertEqual(try rig.snapshot(), before, "refused writes changed the state", file: file, line: line)
        print("load: \(probes) refused writes probed, each with exactly one log line per refused APQN")
        return probes
    }
}
