import Foundation
import TestSupport
import XCTest

/// scripts/record-topology.sh (issue 11, point 3): every topology the
/// project ships is mounted, as booted and after real shell writes (masks,
/// mdevs created, removed and assigned, a card deconfigured and one taken
/// offline, a queue offline, a queue reset, a queue's TAPQ word, bus
/// settings) and `vfio-ap-sim hw` changes; the tree is recorded with dash and
/// with busybox sh, the recording mounted and recorded again. The recordings
/// must be identical byte for byte, and the two trees must read the same,
/// attribute by attribute and link by link. A copy of the tree without the
/// emulator's `hwinfo` (and without `ap_config`), as a real host shows it,
/// must record the same, or where only `hwinfo` could tell, reproduce a tree
/// that reads the same but for `hwinfo`.
///
/// demo/topologies/large.yaml (65,536 queues) gets a shorter round trip
/// (`testLarge`): one recording reads about 650,000 attributes through
/// FUSE, so it is recorded once with each shell (dash, then busybox sh on
/// the recording), and the two trees are compared where they are not
/// 65,536 times the same: the AP bus with its device and driver links, the
/// vfio_ap matrix, and the first, an accelerator and the last card.
final class RecorderTests: XCTestCase {
    var fixtures: [MountFixture] = []
    var scratch: [String] = []

    static let script = Paths.repository + "/scripts/record-topology.sh"
    static let shells = [["/bin/dash"], ["/bin/busybox", "sh"]]
    static let uuids = ["6e1f3c2a-0000-4000-8000-000000000001", "1b2c3d4e-0000-4000-8000-000000000002",
                        "0a0b0c0d-0000-4000-8000-000000000003"]

    /// `scans` is the number of AP bus scans since boot, and the rescan timer
    /// adds one every `config_time` seconds whatever the host is: a clock,
    /// not configuration, so two hosts booted at different times differ.
    static let skipped: Set<String> = ["bus/ap/scans"]

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        // The shells are the clients under test: missing, the test fails.
        for shell in Self.shells where !FileManager.default.isExecutableFile(atPath: shell[0]) {
            XCTFail("\(shell[0]) is not installed: the recorder must be run with dash and busybox sh (apt-get install dash busybox-static)")
            throw XCTSkip("no \(shell[0])")
        }
    }

    override func tearDown() {
        for f in fixtures { f.cleanUp() }
        fixtures.removeAll()
        for d in scratch { try? FileManager.default.removeItem(atPath: d) }
        scratch.removeAll()
    }

    func testDefault() throws { try roundTrips(nil, "default") }
    func testCEX8EP11() throws { try roundTrips("cex8-ep11.yaml", "cex8") }
    func testHotplug() throws { try roundTrips("hotplug.yaml", "hotplug") }
    func testMigrationSource() throws { try roundTrips("migration-source.yaml", "msrc") }
    func testMigrationTarget() throws { try roundTrips("migration-target.yaml", "mtgt") }
    func testMigrationTargetNoMdev() throws { try roundTrips("migration-target-no-mdev.yaml", "mnomdev") }

    func testLarge() throws {
        let original = try mount("large-a", topology: Paths.topology("large.yaml"))
        let first = try record(original.mountpoint, shell: Self.shells[0], timeout: 600)
        XCTAssertTrue(first.contains("  - id: 0xff\n"), "the recording has every adapter")
        let yaml = try makeScratch("yaml") + "/large.yaml"
        try first.write(toFile: yaml, atomically: true, encoding: .utf8)
        let copy = try mount("large-b", topology: yaml)
        XCTAssertEqual(try record(copy.mountpoint, shell: Self.shells[1], timeout: 600), first,
                       "large: busybox sh's recording of the recording against dash's of the original")
        for subtree in ["bus/ap", "devices/vfio_ap", "devices/ap/card00", "devices/ap/card03", "devices/ap/cardff"] {
            let a = try TreeWalk(original.path(subtree), skipping: ["scans"])
            let b = try TreeWalk(copy.path(subtree), skipping: ["scans"])
            XCTAssertGreaterThan(a.entries.count, 10, subtree)
            let diff = a.differences(from: b)
            XCTAssertEqual(diff, [], "large \(subtree): the trees differ (original | recording):\n" + diff.prefix(20).joined(separator: "\n"))
        }
    }

    /// What the shipped topologies lack: a raw type past CEX8, an adapter
    /// with two mode bits (only the word says it), one in the configuration
    /// without a card device, one outside it, a checkstopped and an offline
    /// card, per-queue BS, config, checkstop and driver_override, a message
    /// size of 12288 given as ml 3, an SE guest with APSB, no interrupts, a
    /// z/VM poll_timeout, an mdev with only control domains and a gap in
    /// the iommu groups; then SE bind and association writes, and an adapter
    /// brought into the partition (`hw adapter add`). Its driver_override
    /// refuses mask writes, so the shared scenario is not run.
    func testCorners() throws {
        let yaml = try makeScratch("corners") + "/corners.yaml"
        try """
            name: corners
            machine:
              facilities: [APSC, APXA, QACT, RC8A, APSB]
              ap_max_adapter_id: 255
              ap_max_domain_id: 84
              secure_execution_guest: true
              interrupts: false
            vfio_ap:
              features: [guest_matrix, hotplug, ap_config]
            adapters:
              - {id: 0x01, raw_type: 15, mode: ep11, facilities: [APSC, APXA, SLCF], classification: 0x20, depth: 3, max_msg_size: 12288, serial_number: "X1"}
              - {id: 0x02, hwinfo: "0x9a8000000d540007"}
              - {id: 0x03, hwinfo: "0x0"}
              - {id: 0x04, type: CEX7, mode: cca, checkstopped: true}
              - {id: 0x05, type: CEX4, mode: accel, in_configuration: false}
              - {id: 0x06, type: CEX8, mode: accel, online: false}
            usage_domains: [0x00-0x03, 0x54]
            control_domains: [0x00-0x54]
            queues:
              - {apqn: "01.0002", bind_state: 3}
              - {apqn: "02.0001", configured: false}
              - {apqn: "02.0003", checkstopped: true}
              - {apqn: "02.0054", driver_override: vfio_ap}
            ap_bus:
              ap_domain: 2
              poll_timeout: 1500000
            mdevs:
              - {uuid: 00000000-0000-4000-8000-00000000000a, control_domains: [0x00-0x54], iommu_group: 7, vfio_device: 5}

            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let f = try mount("corners", topology: yaml)
        // SE: 01.0000 unbound, bound and associated (BS 0, index 5); 01.0001 unbound (BS 2).
        let r = try ProcessRunner.run(["/bin/dash", "-c", """
            cd "$0"/devices/ap/card01
            echo 0 > 01.0000/se_bind && echo 1 > 01.0000/se_bind && echo 5 > 01.0000/se_associate
            echo 0 > 01.0001/se_bind
            cat 01.0000/se_associate 01.0001/se_bind
            """, f.mountpoint])
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, "associated 5\nunbound\n")
        // Queues of 01 have ml 3, which max_msg_size reads as ml 0 does:
        // only hwinfo tells them apart.
        let recording = try roundTrip(f, "corners", hwinfoShown: true, file: #filePath, line: #line)
        XCTAssertTrue(recording.contains("  - id: 0x02\n    hwinfo: \"0x9a8000000d540007\"\n"))
        XCTAssertTrue(recording.contains("  - id: 0x03\n    hwinfo: \"0x0000000000000000\""))
        XCTAssertFalse(recording.contains("id: 0x05"), "outside the configuration: sysfs does not show it")
        XCTAssertTrue(recording.contains("  secure_execution_guest: true\n  interrupts: false\n"))
        XCTAssertTrue(recording.contains("    association_index: 5\n"))

        // The HMC brings adapter 05 into the partition: now sysfs shows it.
        try hw(f, ["adapter", "add", "0x05"])
        let added = try roundTrip(f, "corners with 05", hwinfoShown: true, file: #filePath, line: #line)
        XCTAssertTrue(added.contains("  - id: 0x05\n    type: CEX4\n    mode: accel\n"))
    }

    /// A machine without QCI info (`features` reads `-`, the masks `not
    /// supported`): the usage domains come from the queue devices.
    func testWithoutQCI() throws {
        let yaml = try makeScratch("noqci") + "/noqci.yaml"
        try """
            name: noqci
            machine: {qci: false}
            adapters:
              - {id: 0x01, type: CEX7, mode: cca}
              - {id: 0x3f, type: CEX7, mode: accel}
            usage_domains: [1, 3]

            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let f = try mount("noqci", topology: yaml)
        try roundTrip(f, "noqci as booted", file: #filePath, line: #line)
        try change(f)
        let recording = try roundTrip(f, "noqci changed", file: #filePath, line: #line)
        XCTAssertTrue(recording.contains("  qci: false"))
        XCTAssertTrue(recording.contains("usage_domains: [0x01, 0x03]\n\n"))
    }

    /// Every shipped topology is here (or named in the class comment).
    func testEveryShippedTopologyIsCovered() throws {
        let covered: Set<String> = ["cex8-ep11.yaml", "hotplug.yaml", "migration-source.yaml", "migration-target.yaml",
                                    "migration-target-no-mdev.yaml", "large.yaml"]
        let shipped = try FileManager.default.contentsOfDirectory(atPath: Paths.demo + "/topologies")
        XCTAssertEqual(Set(shipped), covered)
    }

    /// The recorder reads only: with the tree read-only in a private mount
    /// namespace it records the same bytes.
    func testReadOnlyTree() throws {
        let f = try mount("ro", topology: nil)
        let plain = try record(f.mountpoint, shell: Self.shells[0])
        let r = try ProcessRunner.run(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                                       "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && /bin/dash \"$1\" \"$0\"",
                                       f.mountpoint, Self.script])
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, plain)
    }

    func testRefusesATreeWithoutTheAPBus() throws {
        let dir = try makeScratch("noap")
        let r = try ProcessRunner.run(["/bin/dash", Self.script, dir])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "record-topology.sh: \(dir)/bus/ap does not exist: not an s390 sysfs tree with the AP bus\n")
    }

    // MARK: - The round trip

    func roundTrips(_ topology: String?, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let original = try mount("\(label)-a", topology: topology.map(Paths.topology))
        try roundTrip(original, "\(label) as booted", file: file, line: line)
        try change(original)
        let recording = try roundTrip(original, "\(label) changed", file: file, line: line)
        // What the writes did shows in the recording.
        for u in Self.uuids.dropFirst() { XCTAssertTrue(recording.contains("  - uuid: \(u)\n"), "\(label): \(u)", file: file, line: line) }
        XCTAssertFalse(recording.contains(Self.uuids[0]), label, file: file, line: line)
        XCTAssertTrue(recording.contains("  config_time: 60\n  poll_timeout: 1500000\n"), label, file: file, line: line)
    }

    /// Records `original` with both shells, mounts the recording, records
    /// it, walks both trees; then records a plain copy of the original
    /// without the emulator's `hwinfo` files, as a real host's tree is.
    @discardableResult
    func roundTrip(_ original: MountFixture, _ what: String, hwinfoShown: Bool = false,
                   file: StaticString, line: UInt) throws -> String {
        let first = try record(original.mountpoint, shell: Self.shells[0])
        XCTAssertEqual(try record(original.mountpoint, shell: Self.shells[1]), first, "\(what): busybox sh against dash", file: file, line: line)
        let yaml = try makeScratch("yaml") + "/recorded.yaml"
        try first.write(toFile: yaml, atomically: true, encoding: .utf8)
        let copy = try mount("rec\(fixtures.count)", topology: yaml)
        for shell in Self.shells {
            XCTAssertEqual(try record(copy.mountpoint, shell: shell), first, "\(what): recording of the recording, \(shell[0])", file: file, line: line)
        }
        let a = try TreeWalk(original.mountpoint, skipping: Self.skipped)
        let b = try TreeWalk(copy.mountpoint, skipping: Self.skipped)
        XCTAssertGreaterThan(a.entries.count, 150, what, file: file, line: line)
        let diff = a.differences(from: b)
        XCTAssertEqual(diff, [], "\(what): the trees differ (original | recording):\n" + diff.joined(separator: "\n"), file: file, line: line)
        _ = copy.stop()

        // A real host has no hwinfo: the word is rebuilt from the card's
        // raw_hwtype, depth, max_msg_size and the queue's ap_functions. Where
        // the shown attributes fix the word, the recording is the same;
        // else (`hwinfoShown`) what it reproduces still reads the same,
        // hwinfo aside.
        let plain = try makeScratch("plain")
        _ = try ProcessRunner.run(["/bin/cp", "-rP", original.mountpoint, plain + "/sys"], timeout: 60)
        // Without ap_config too, as before v6.10: the mdevs' masks then come
        // from matrix and control_domains.
        for name in ["hwinfo", "ap_config"] {
            _ = try ProcessRunner.run(["/usr/bin/find", plain + "/sys", "-name", name, "-delete"])
            XCTAssertEqual(try ProcessRunner.run(["/usr/bin/find", plain + "/sys", "-name", name]).stdout, "")
        }
        let rebuilt = try record(plain + "/sys", shell: Self.shells[0])
        XCTAssertEqual(try record(plain + "/sys", shell: Self.shells[1]), rebuilt, "\(what): a copy without hwinfo, busybox sh against dash", file: file, line: line)
        if hwinfoShown {
            XCTAssertNotEqual(rebuilt, first, "\(what): a copy without hwinfo", file: file, line: line)
            let yaml2 = try makeScratch("yaml") + "/rebuilt.yaml"
            try rebuilt.write(toFile: yaml2, atomically: true, encoding: .utf8)
            let copy2 = try mount("rec\(fixtures.count)", topology: yaml2)
            let c = try TreeWalk(copy2.mountpoint, skipping: Self.skipped, names: ["hwinfo"])
            let diff2 = try TreeWalk(original.mountpoint, skipping: Self.skipped, names: ["hwinfo"]).differences(from: c)
            XCTAssertEqual(diff2, [], "\(what): the trees differ (original | rebuilt without hwinfo):\n" + diff2.joined(separator: "\n"), file: file, line: line)
            _ = copy2.stop()
        } else {
            XCTAssertEqual(rebuilt, first, "\(what): a copy without hwinfo", file: file, line: line)
        }
        return first
    }

    /// Real shell writes on the mounted host: the first card and the first
    /// domain given to vfio_ap, the last queue's TAPQ word given BS 2 and
    /// taken offline, with three or more cards the second deconfigured and
    /// the last taken offline, bus settings, three mdevs created and the
    /// first removed (a gap in the iommu groups), assignments, a queue
    /// reset; then `vfio-ap-sim hw` changes.
    func change(_ f: MountFixture) throws {
        let cards = try FileManager.default.contentsOfDirectory(atPath: f.path("devices/ap")).filter { $0.hasPrefix("card") }.sorted()
        let queues = { (c: String) in try FileManager.default.contentsOfDirectory(atPath: f.path("devices/ap/\(c)")).filter { $0.contains(".") }.sorted() }
        let first = try XCTUnwrap(cards.first), last = try XCTUnwrap(cards.last)
        let firstQueue = try XCTUnwrap(try queues(first).first), lastQueue = try XCTUnwrap(try queues(last).last)
        let word = try XCTUnwrap(UInt64(String(contentsOfFile: f.path("devices/ap/\(last)/\(lastQueue)/hwinfo"), encoding: .utf8)
            .dropFirst(2).dropLast(), radix: 16))
        let bs2 = String(format: "0x%016lx", word & ~(UInt64(3) << 46) | UInt64(2) << 46)
        let a1 = "0x" + first.dropFirst(4), d1 = "0x" + firstQueue.split(separator: ".")[1]
        var script = """
            set -u
            cd "$0"
            echo -\(a1) > bus/ap/apmask
            echo -\(d1) > bus/ap/aqmask
            echo \(bs2) > devices/ap/\(last)/\(lastQueue)/hwinfo
            [ -e devices/ap/\(last)/\(lastQueue)/online ] && echo 0 > devices/ap/\(last)/\(lastQueue)/online
            echo 1 > devices/ap/\(first)/\(firstQueue)/reset
            echo 60 > bus/ap/config_time
            echo 1500000 > bus/ap/poll_timeout

            """
        if cards.count >= 3 {
            // The last card offline, then the first domain back to the host:
            // its queue there is bound to cex4queue again, online under an
            // offline card (zcrypt_cex4_queue_probe sets zq->online).
            script += "echo 0 > devices/ap/\(cards[1])/config\n"
            script += "echo 0 > devices/ap/\(last)/online\n"
            script += "echo +\(d1) > bus/ap/aqmask\n"
        }
        let (u1, u2, u3) = (Self.uuids[0], Self.uuids[1], Self.uuids[2])
        script += """
            cd devices/vfio_ap/matrix
            for u in \(u1) \(u2) \(u3); do echo $u > mdev_supported_types/vfio_ap-passthrough/create; done
            echo 1 > \(u1)/remove
            echo \(a1) > \(u3)/assign_adapter
            # migration-source's mdev has the APQN already (EADDRINUSE): then the domain goes to the other.
            echo \(d1) > \(u3)/assign_domain 2>/dev/null || echo \(d1) > \(u2)/assign_domain
            echo \(d1) > \(u3)/assign_control_domain

            """
        let r = try ProcessRunner.run(["/bin/dash", "-c", script, f.mountpoint])
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.status, 0)

        // Run-time hardware changes (docs/FIDELITY.md "Run-time hardware
        // changes"), where there is QCI info: the first card checkstopped,
        // a control domain the partition lacked added.
        guard try String(contentsOfFile: f.path("bus/ap/features"), encoding: .utf8) != "-\n" else { return }
        try hw(f, ["card", "checkstop", a1])
        let cdoms = try String(contentsOfFile: f.path("bus/ap/ap_control_domain_mask"), encoding: .utf8)
        let digits = Array(cdoms.dropFirst(2).prefix(64))
        let free = try XCTUnwrap((0...255).first { id in digits[id / 4].hexDigitValue.map { $0 & (8 >> (id % 4)) == 0 } ?? false })
        try hw(f, ["control-domain", "add", String(format: "0x%02x", free)])
    }

    /// `vfio-ap-sim hw ARGS` on the fixture's host.
    func hw(_ f: MountFixture, _ args: [String]) throws {
        let r = try ProcessRunner.run([Simulator.binary, "hw"] + args + ["--host", f.name, "--runtime-dir", f.runtimeDir])
        XCTAssertEqual(r.stderr, "", args.joined(separator: " "))
        XCTAssertEqual(r.status, 0, args.joined(separator: " "))
    }

    // MARK: - Helpers

    func record(_ root: String, shell: [String], timeout: Double = 120,
                file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try ProcessRunner.run(shell + [Self.script, root], timeout: timeout, file: file, line: line)
        XCTAssertEqual(r.stderr, "", "\(shell.joined(separator: " ")) \(root)", file: file, line: line)
        XCTAssertEqual(r.status, 0, "\(shell.joined(separator: " ")) \(root)", file: file, line: line)
        return r.stdout
    }

    func mount(_ name: String, topology: String?) throws -> MountFixture {
        let f = try MountFixture(name: "rec-\(name)")
        fixtures.append(f)
        try f.start(extraArguments: topology.map { ["--topology", $0] } ?? [])
        return f
    }

    func makeScratch(_ what: String) throws -> String {
        let dir = try TestDirectory.make("recorder-\(what)")
        scratch.append(dir)
        return dir
    }
}
