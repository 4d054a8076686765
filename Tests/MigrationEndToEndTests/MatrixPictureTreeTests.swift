import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import XCTest

/// `vfio-ap-sim show --json` against what the mounted tree says, for every
/// shipped topology and after each step that changes who owns a queue:
/// the rows and columns, each cell's owner, mdev, use and state, and the
/// legend's mdevs and guests. The expected picture is built here from
/// sysfs alone (bus/ap/devices, each queue's driver link, config, chkstop,
/// online, status; every mdev's matrix and guest_matrix; the QCI masks).
final class MatrixPictureTreeTests: LabTestCase {
    let u = exampleUUID

    // MARK: - Every shipped topology, freshly booted

    func testEveryShippedTopology() throws {
        let demoTopologies = try FileManager.default.contentsOfDirectory(atPath: Paths.demo + "/topologies")
            .filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(demoTopologies.count, 6)
        let files = [Paths.repository + "/Sources/APCore/Topologies/default.yaml"] + demoTopologies.map(Paths.topology)
        for (i, file) in files.enumerated() {
            let name = "t\(i)"
            let host = try lab.start(name, topology: file)
            try assertShowMatchesTree(host, name, "\((file as NSString).lastPathComponent)")
            _ = host.stop()
        }
    }

    // MARK: - Steps that change ownership

    func testTheVfioApProcedureStepByStep() throws {
        let host = try lab.start("h", topology: Paths.repository + "/Sources/APCore/Topologies/default.yaml")
        let matrix = host.path("devices/vfio_ap/matrix")
        let steps: [(String, String)] = [
            ("queue 05.0047 offline", "echo 0 > \(host.path("devices/ap/card05/05.0047/online"))"),
            ("apmask", "echo -5,-6 > \(host.path("bus/ap/apmask"))"),
            ("aqmask", "echo -4,-0xab > \(host.path("bus/ap/aqmask"))"),
            ("create", "echo \(u) > \(matrix)/mdev_supported_types/vfio_ap-passthrough/create"),
            ("assign adapter 5", "echo 5 > \(matrix)/\(u)/assign_adapter"),
            ("assign domain 4", "echo 4 > \(matrix)/\(u)/assign_domain"),
            ("assign adapter 6", "echo 6 > \(matrix)/\(u)/assign_adapter"),
            ("assign domain 0xab", "echo 0xab > \(matrix)/\(u)/assign_domain"),
            ("unbind 06.00ab", "echo 06.00ab > \(host.path("bus/ap/drivers/vfio_ap/unbind"))"),
            ("bind 06.00ab", "echo 06.00ab > \(host.path("bus/ap/drivers/vfio_ap/bind"))"),
            ("remove the mdev", "echo 1 > \(matrix)/\(u)/remove"),
        ]
        try assertShowMatchesTree(host, "h", "booted")
        for (what, command) in steps {
            let r = try ProcessRunner.run(["/bin/sh", "-c", command])
            XCTAssertEqual(r.status, 0, "\(what): \(r.stderr)")
            try assertShowMatchesTree(host, "h", what)
            if what.hasSuffix("offline") { XCTAssertEqual(try cells("h")["05.0047"]?["state"] as? String, "offline") }
            if what == "unbind 06.00ab" { XCTAssertEqual(try cells("h")["06.00ab"]?["owner"] as? String, "no-driver") }
        }
        XCTAssertEqual(try cells("h")["06.00ab"]?["owner"] as? String, "vfio_ap")
    }

    func testAGuestAndHardwareChanges() throws {
        let (src, _) = try startMigrationHosts()
        try assertShowMatchesTree(src, "src", "booted")
        let steps: [[String]] = [
            ["guest", "start", "--host", "src", "g1", u],
            ["hw", "adapter", "remove", "0x06", "--host", "src"],
            ["hw", "adapter", "add", "0x06", "--host", "src"],
            ["hw", "card", "checkstop", "5", "--host", "src"],
            ["hw", "card", "clear", "5", "--host", "src"],
            ["hw", "card", "deconfigure", "6", "--host", "src"],
            ["hw", "domain", "remove", "0xab", "--host", "src"],
            ["guest", "stop", "--host", "src", "g1"],
            ["hw", "card", "configure", "6", "--host", "src"],
        ]
        var seen = Set<String>()
        for step in steps {
            try ok(step)
            try assertShowMatchesTree(src, "src", step.joined(separator: " "))
            for c in try cells("src").values {
                seen.insert([c["owner"] as? String, c["use"] as? String, c["state"] as? String].compactMap { $0 }.joined(separator: " "))
            }
        }
        // The steps went through every use and state of an mdev's queue.
        for expected in ["mdev in-use online", "mdev filtered absent", "mdev in-use checkstopped", "mdev in-use deconfigured",
                         "mdev assigned deconfigured"] {
            XCTAssertTrue(seen.contains(expected), "never saw \(expected): \(seen.sorted())")
        }
    }

    // MARK: - Helpers

    @discardableResult
    func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let r = try lab.cli(args, file: file, line: line)
        XCTAssertEqual(r.status, 0, "vfio-ap-sim \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.lines
    }

    func showJSON(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try lab.cli(["show", "--host", name, "--json"], timeout: 120, file: file, line: line)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        guard let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            XCTFail("not a JSON object", file: file, line: line)
            return [:]
        }
        return doc
    }

    func cells(_ name: String) throws -> [String: [String: Any]] {
        let doc = try showJSON(name)
        var out: [String: [String: Any]] = [:]
        for c in doc["cells"] as? [[String: Any]] ?? [] { out[c["apqn"] as? String ?? "?"] = c }
        return out
    }

    /// The IDs of a `0x` + 64 hex digit mask, MSB first.
    func ids(ofMask text: String?) -> Set<Int> {
        let hex = Array((text ?? "").dropFirst(2))
        var out = Set<Int>()
        for (i, ch) in hex.enumerated() {
            guard let v = ch.hexDigitValue else { continue }
            for bit in 0..<4 where v & (8 >> bit) != 0 { out.insert(i * 4 + bit) }
        }
        return out
    }

    /// A matrix file's lines: APQNs, and the adapters and domains it names.
    func readMatrix(_ host: MountFixture, _ relative: String) -> (apqns: Set<String>, adapters: Set<Int>, domains: Set<Int>) {
        var apqns = Set<String>(), adapters = Set<Int>(), domains = Set<Int>()
        for l in (host.read(relative) ?? "").split(separator: "\n") {
            let parts = l.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            if let a = Int(parts[0], radix: 16) { adapters.insert(a) }
            if let d = Int(parts[1], radix: 16) { domains.insert(d) }
            if !parts[0].isEmpty && !parts[1].isEmpty { apqns.insert(String(l)) }
        }
        return (apqns, adapters, domains)
    }

    func assertShowMatchesTree(_ host: MountFixture, _ name: String, _ step: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let doc = try showJSON(name, file: file, line: line)
        let fm = FileManager.default
        // The tree.
        let devices = Set(try fm.contentsOfDirectory(atPath: host.path("bus/ap/devices")))
        let queueNames = devices.filter { $0.contains(".") }
        let uuids = (try fm.contentsOfDirectory(atPath: host.path("devices/vfio_ap/matrix")))
            .filter { $0.count == 36 && $0.split(separator: "-").count == 5 }
        var matrices: [String: (apqns: Set<String>, adapters: Set<Int>, domains: Set<Int>)] = [:]
        var guestMatrices: [String: Set<String>] = [:]
        for id in uuids {
            matrices[id] = readMatrix(host, "devices/vfio_ap/matrix/\(id)/matrix")
            guestMatrices[id] = readMatrix(host, "devices/vfio_ap/matrix/\(id)/guest_matrix").apqns
        }
        var guestOf: [String: String] = [:]
        for l in try ok(["guest", "list", "--host", name], file: file, line: line) {
            let w = l.split(separator: " ").map(String.init)
            if w.count == 3, w[2] != "-" { guestOf[w[2]] = w[0] }
        }
        var rows = ids(ofMask: host.read("bus/ap/ap_adapter_mask"))
        var columns = ids(ofMask: host.read("bus/ap/ap_usage_domain_mask"))
        for d in devices where d.hasPrefix("card") { rows.insert(Int(d.dropFirst(4), radix: 16)!) }
        for q in queueNames {
            rows.insert(Int(q.prefix(2), radix: 16)!)
            columns.insert(Int(q.suffix(4), radix: 16)!)
        }
        for m in matrices.values { rows.formUnion(m.adapters); columns.formUnion(m.domains) }

        // Rows, columns, legend.
        XCTAssertEqual(doc["adapters"] as? [Int], rows.sorted(), "\(step): adapters", file: file, line: line)
        XCTAssertEqual(doc["domains"] as? [Int], columns.sorted(), "\(step): domains", file: file, line: line)
        let mdevs = doc["mdevs"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(mdevs.compactMap { $0["uuid"] as? String }), Set(uuids), "\(step): legend", file: file, line: line)
        var letterOf: [String: String] = [:]
        for m in mdevs {
            let id = m["uuid"] as? String ?? "?"
            letterOf[id] = m["letter"] as? String
            XCTAssertEqual(m["guest"] as? String, guestOf[id], "\(step): guest of \(id)", file: file, line: line)
        }
        XCTAssertEqual(Set(letterOf.values).count, uuids.count, "\(step): one letter per mdev", file: file, line: line)

        // Every cell.
        let cells = doc["cells"] as? [[String: Any]] ?? []
        XCTAssertEqual(cells.count, rows.count * columns.count, "\(step): cells", file: file, line: line)
        var mismatches: [String] = []
        for c in cells {
            let apqn = c["apqn"] as? String ?? "?"
            let got = [c["owner"], c["mdev"], c["use"], c["state"]].map { ($0 as? String) ?? "-" }.joined(separator: " ")
            let want = expectedCell(host, apqn, exists: queueNames.contains(apqn), matrices, guestMatrices, guestOf, letterOf)
            if got != want { mismatches.append("\(apqn): show says '\(got)', the tree '\(want)'") }
            if mismatches.count >= 10 { break }
        }
        XCTAssertEqual(mismatches, [], "\(step)", file: file, line: line)
    }

    /// "owner mdev use state" of one APQN, from the tree alone.
    func expectedCell(_ host: MountFixture, _ apqn: String, exists: Bool,
                      _ matrices: [String: (apqns: Set<String>, adapters: Set<Int>, domains: Set<Int>)],
                      _ guestMatrices: [String: Set<String>], _ guestOf: [String: String], _ letterOf: [String: String]) -> String {
        let dir = "bus/ap/devices/\(apqn)"
        var owner = "none", state = "absent", mdev = "-", use = "-"
        var driver: String?
        if exists {
            driver = (try? FileManager.default.destinationOfSymbolicLink(atPath: host.path(dir + "/driver")))
                .map { ($0 as NSString).lastPathComponent }
            owner = driver == "cex4queue" ? "host-driver" : driver == "vfio_ap" ? "vfio_ap" : "no-driver"
            if host.read(dir + "/config") == "0" { state = "deconfigured" }
            else if host.read(dir + "/chkstop") == "1" { state = "checkstopped" }
            else if driver == "cex4queue" && host.read(dir + "/online") == "0" { state = "offline" }
            else { state = "online" }
        }
        let status = driver == "vfio_ap" ? host.read(dir + "/status") : nil
        if let id = matrices.first(where: { $0.value.apqns.contains(apqn) })?.key {
            mdev = letterOf[id] ?? "?"
            if !exists || driver == "vfio_ap" { owner = "mdev" }
            if guestMatrices[id]?.contains(apqn) == true {
                use = guestOf[id] != nil ? "in-use" : "assigned"
            } else {
                use = "filtered"
            }
            // The status file agrees (it exists for vfio_ap queues only).
            if let status, status != (use == "in-use" ? "in use" : "assigned") { use += "(status \(status))" }
        } else if let status, status != "unassigned" {
            owner += "(status \(status))"
        }
        return "\(owner) \(mdev) \(use) \(state)"
    }
}
