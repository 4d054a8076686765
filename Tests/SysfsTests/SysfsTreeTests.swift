import APCore
import Sysfs
import SystemPackage
import XCTest

/// The emulated /sys served without a mount: exact bytes, modes, links and
/// errno of kernel-sysfs.md §1, §2 and §4.
final class SysfsTreeTests: XCTestCase {
    var tree: SysfsTree!
    let matrix = "/devices/vfio_ap/matrix"
    let type = "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough"

    override func setUpWithError() throws {
        let host = try HostBuilder.build(try DefaultTopology.load(), file: DefaultTopology.fileName)
        tree = SysfsTree(host: host)
    }

    // MARK: - helpers

    func read(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        switch tree.show(path) {
        case .success(let b): return String(decoding: b, as: UTF8.self)
        case .failure(let e): XCTFail("show \(path): \(e)", file: file, line: line); return nil
        }
    }

    func assertShow(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(read(path, file: file, line: line), expected, path, file: file, line: line)
    }

    func write(_ path: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        switch tree.store(path, bytes(text)) {
        case .success(let n): XCTAssertEqual(n, text.utf8.count, "store returns the count", file: file, line: line)
        case .failure(let e): XCTFail("store \(path) '\(text)': \(e)", file: file, line: line)
        }
    }

    func assertStoreFails(_ path: String, _ text: String, _ errno: Errno, file: StaticString = #filePath, line: UInt = #line) {
        switch tree.store(path, bytes(text)) {
        case .success(let n): XCTFail("store \(path) '\(text)' returned \(n), expected \(errno)", file: file, line: line)
        case .failure(let e): XCTAssertEqual(e, errno, "\(path) '\(text)'", file: file, line: line)
        }
    }

    func link(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        switch tree.readlink(path) {
        case .success(let t): return t
        case .failure(let e): XCTFail("readlink \(path): \(e)", file: file, line: line); return nil
        }
    }

    func mode(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> UInt16? {
        switch tree.stat(path) {
        case .success(let st): return st.mode
        case .failure(let e): XCTFail("stat \(path): \(e)", file: file, line: line); return nil
        }
    }

    func names(_ path: String) -> [String] { (try? tree.list(path).get().map(\.name)) ?? [] }

    /// Frees adapters 5, 6 and domains 4, 0x47, 0xab, 0xff for vfio_ap (vfio-ap.rst).
    func secureQueues() {
        write("/bus/ap/apmask", "-5,-6\n")
        write("/bus/ap/aqmask", "-4,-0x47,-0xab,-0xff\n")
    }

    // MARK: - /sys/bus/ap

    func testBusAttributes() {
        assertShow("/bus/ap/apmask", allOnesText + "\n")
        XCTAssertEqual(read("/bus/ap/apmask")?.utf8.count, 67)
        assertShow("/bus/ap/aqmask", allOnesText + "\n")
        assertShow("/bus/ap/features", "APSC APXA QACT RC8A\n")
        assertShow("/bus/ap/bindings", "8/8 (complete)\n")
        assertShow("/bus/ap/bindings_complete_count", "1\n")
        assertShow("/bus/ap/scans", "1\n")
        assertShow("/bus/ap/ap_domain", "4\n")
        assertShow("/bus/ap/config_time", "30\n")
        assertShow("/bus/ap/poll_thread", "0\n")
        assertShow("/bus/ap/poll_timeout", "250000\n")
        assertShow("/bus/ap/ap_interrupts", "1\n")
        assertShow("/bus/ap/ap_max_adapter_id", "255\n")
        assertShow("/bus/ap/ap_max_domain_id", "255\n")
        assertShow("/bus/ap/ap_adapter_mask", maskText("06") + "\n")
        assertShow("/bus/ap/ap_usage_domain_mask",
                   "0x0800000000000000" + "0100000000000000" + "0000000000100000" + "0000000000000001\n")
        assertShow("/bus/ap/ap_control_domain_mask",
                   "0x0800000000000000" + "0100000000000000" + "0000000000100000" + "0000000000000001\n")
        assertShow("/bus/ap/drivers_autoprobe", "1\n")
        XCTAssertEqual(Array(names("/bus/ap").prefix(16)), [
            "ap_domain", "ap_control_domain_mask", "ap_usage_domain_mask", "ap_adapter_mask", "config_time",
            "poll_thread", "ap_interrupts", "poll_timeout", "ap_max_domain_id", "ap_max_adapter_id", "apmask",
            "aqmask", "scans", "bindings", "bindings_complete_count", "features",
        ], "ap_bus_attrs[] order")
        XCTAssertEqual(Set(names("/bus/ap")), Set(names("/bus/ap").prefix(16)).union(
            ["drivers_autoprobe", "drivers_probe", "uevent", "devices", "drivers"]))
        XCTAssertEqual(names("/bus/ap/devices"), ["card05", "05.0004", "05.0047", "05.00ab", "05.00ff",
                                                  "card06", "06.0004", "06.0047", "06.00ab", "06.00ff"])
    }

    func testBusStores() {
        write("/bus/ap/ap_domain", "0x47\n")
        assertShow("/bus/ap/ap_domain", "71\n")
        write("/bus/ap/ap_domain", "  0xff trailing")
        assertShow("/bus/ap/ap_domain", "255\n")
        assertStoreFails("/bus/ap/ap_domain", "+4", .invalidArgument)
        write("/bus/ap/ap_domain", "5") // in range and in aqmask: accepted though not a usage domain
        assertStoreFails("/bus/ap/ap_domain", "256", .invalidArgument)
        assertStoreFails("/bus/ap/ap_domain", "x", .invalidArgument)
        write("/bus/ap/config_time", "60\n")
        assertShow("/bus/ap/config_time", "60\n")
        assertStoreFails("/bus/ap/config_time", "0x10", .invalidArgument) // %d reads 0
        assertStoreFails("/bus/ap/config_time", "121", .invalidArgument)
        write("/bus/ap/poll_timeout", "0x100\n")
        assertShow("/bus/ap/poll_timeout", "256\n")
        assertStoreFails("/bus/ap/poll_timeout", "-1", .invalidArgument)
        assertStoreFails("/bus/ap/poll_timeout", "99999999999999999999", .outOfRange)
        assertStoreFails("/bus/ap/poll_timeout", "120000000001", .invalidArgument)
        assertStoreFails("/bus/ap/poll_thread", "maybe", .invalidArgument)
        write("/bus/ap/poll_thread", "1\n")
        write("/bus/ap/scans", "anything")
        assertShow("/bus/ap/scans", "2\n")
        assertStoreFails("/bus/ap/apmask", "+256", .invalidArgument)
        assertStoreFails("/bus/ap/apmask", "0X41", .invalidArgument)
        assertShow("/bus/ap/apmask", allOnesText + "\n")
        write("/bus/ap/apmask", "0x41\n")
        assertShow("/bus/ap/apmask", maskText("41") + "\n")
        assertShow("/bus/ap/bindings", "8/8 (complete)\n")
        assertStoreFails("/bus/ap/drivers_probe", "card07", .noDevice)
        assertStoreFails("/bus/ap/uevent", "jump\n", .invalidArgument)
        write("/bus/ap/uevent", "change\n")
    }

    func testVfioApDocumentationProcedure() {
        secureQueues()
        assertShow("/bus/ap/apmask", "0xf9" + String(repeating: "f", count: 62) + "\n")
        assertShow("/bus/ap/aqmask", "0xf7fffffffffffffffeffffffffffffffffffffffffeffffffffffffffffffffe\n")
        XCTAssertEqual(names("/bus/ap/drivers/vfio_ap").filter { $0.contains(".") }, [
            "05.0004", "05.0047", "05.00ab", "05.00ff", "06.0004", "06.0047", "06.00ab", "06.00ff",
        ])
        XCTAssertEqual(link("/bus/ap/drivers/vfio_ap/05.0047"), "../../../../devices/ap/card05/05.0047")
        XCTAssertEqual(tree.readlink("/bus/ap/drivers/cex4queue/05.0047"), .failure(.noSuchFileOrDirectory))
        assertShow("/bus/ap/bindings", "8/8 (complete)\n")
        assertShow("/devices/ap/card05/hwtype", "11\n") // the VFS resolves /bus/ap/devices/card05 via readlink
        XCTAssertEqual(tree.stat("/bus/ap/devices/card05/hwtype"), .failure(.notDirectory))

        // A queue moved to vfio_ap: uninitialised, vfio_ap's status, no zcrypt files.
        let q = "/devices/ap/card05/05.0004"
        assertShow(q + "/request_count", "-\n")
        assertShow(q + "/status", "unassigned\n")
        assertShow(q + "/uevent", "DEVTYPE=ap_queue\nDRIVER=vfio_ap\nMODE=cca\n")
        XCTAssertEqual(link(q + "/driver"), "../../../../bus/ap/drivers/vfio_ap")
        XCTAssertFalse(names(q).contains("online"))
        XCTAssertTrue(names(q).contains("status"))

        let u1 = "62177883-f1bb-47f0-914d-32a22e3a8804"
        let u2 = "4f1a2a0e-4e5d-4e8e-8a1b-1c2d3e4f5a6b"
        write(type + "/create", u1.uppercased() + "\n")
        write(type + "/create", u2)
        assertShow(type + "/available_instances", "65534\n")
        let m1 = "\(matrix)/\(u1)"
        write(m1 + "/assign_adapter", "5\n")
        write(m1 + "/assign_adapter", "6\n")
        write(m1 + "/assign_domain", "4\n")
        write(m1 + "/assign_domain", "0xab\n")
        write(m1 + "/assign_control_domain", "4\n")
        assertShow(m1 + "/matrix", "05.0004\n05.00ab\n06.0004\n06.00ab\n")
        assertShow(m1 + "/guest_matrix", "05.0004\n05.00ab\n06.0004\n06.00ab\n")
        assertShow(m1 + "/control_domains", "0004\n")
        let apConfig = maskText("06") + "," + maskText("08000000000000000000000000000000000000000010") + "," + maskText("08") + "\n"
        assertShow(m1 + "/ap_config", apConfig)
        XCTAssertEqual(read(m1 + "/ap_config")?.utf8.count, 201)
        assertShow(q + "/status", "assigned\n")

        let m2 = "\(matrix)/\(u2)"
        write(m2 + "/assign_adapter", "5\n")
        assertStoreFails(m2 + "/assign_domain", "4\n", .addressInUse)
        XCTAssertTrue(tree.host.dmesg().hasSuffix(
            "] vfio_ap_mdev \(u2): Userspace may not assign queue 05.0004 to mdev: already assigned to \(u1)\n"))
        write(m2 + "/assign_domain", "0x47\n")
        write(m2 + "/assign_domain", "0xff\n")
        assertShow(m2 + "/matrix", "05.0047\n05.00ff\n")

        // The in-use rule on apmask.
        assertStoreFails("/bus/ap/apmask", "+6", .resourceBusy)
        let last2 = tree.host.dmesg().split(separator: "\n").suffix(2).map { $0.drop(while: { $0 != "]" }) }
        XCTAssertEqual(last2, [
            "] vfio_ap_mdev \(u1): Can not reserve queue 06.0004 for host driver: in use by mdev",
            "] vfio_ap_mdev \(u1): Can not reserve queue 06.00ab for host driver: in use by mdev",
        ])
        assertShow("/bus/ap/apmask", "0xf9" + String(repeating: "f", count: 62) + "\n")

        // Errno of the mdev attributes.
        assertStoreFails(m1 + "/assign_adapter", "x", .invalidArgument)
        assertStoreFails(m1 + "/assign_adapter", " 5", .invalidArgument)
        assertStoreFails(m1 + "/assign_adapter", "0x100", .noDevice)
        assertStoreFails(m1 + "/assign_domain", "18446744073709551616", .outOfRange)
        assertStoreFails(m1 + "/assign_control_domain", "256\n", .noDevice)
        write(m1 + "/unassign_domain", "0x47")  // not assigned: no-op
        assertStoreFails(m1 + "/ap_config", "0x1,0x2", .invalidArgument)
        assertStoreFails(m1 + "/ap_config", ",0x08,0X1", .invalidArgument)
        assertShow(m1 + "/ap_config", apConfig)

        // remove.
        assertStoreFails(m2 + "/remove", "yes", .invalidArgument)
        write(m2 + "/remove", "0\n")
        XCTAssertNotNil(try? tree.stat(m2).get())
        write(m2 + "/remove", "1\n")
        XCTAssertEqual(tree.stat(m2), .failure(.noSuchFileOrDirectory))
        assertShow(type + "/available_instances", "65535\n")
        assertShow("/devices/ap/card05/05.0047/status", "unassigned\n")
    }

    func testMatrixForms() {
        secureQueues()
        let u = "00000000-0000-0000-0000-000000000001"
        write(type + "/create", u + "\n")
        let m = "\(matrix)/\(u)"
        assertShow(m + "/matrix", "")
        assertShow(m + "/guest_matrix", "")
        assertShow(m + "/control_domains", "")
        assertShow(m + "/ap_config", maskText("") + "," + maskText("") + "," + maskText("") + "\n")
        write(m + "/assign_adapter", "5")
        write(m + "/assign_adapter", "0x10")
        assertShow(m + "/matrix", "05.\n10.\n")
        assertShow(m + "/guest_matrix", "05.\n") // adapter 0x10 is not in the host configuration
        write(m + "/unassign_adapter", "5")
        write(m + "/unassign_adapter", "16")
        write(m + "/assign_domain", "4")
        write(m + "/assign_domain", "0xab")
        assertShow(m + "/matrix", ".0004\n.00ab\n")
        assertShow(m + "/guest_matrix", ".0004\n.00ab\n")
        write(m + "/assign_control_domain", "0xab")
        write(m + "/assign_control_domain", "4")
        write(m + "/assign_control_domain", "0x80")
        assertShow(m + "/control_domains", "0004\n0080\n00ab\n")
        // ap_config write: the whole matrix at once.
        write(m + "/ap_config", maskText("02") + "," + maskText("08") + ",\n")
        assertShow(m + "/matrix", "06.0004\n")
        assertShow(m + "/control_domains", "")
        write(m + "/ap_config", ",,")
        assertShow(m + "/matrix", "")
    }

    func testAssign_withGuestMatrixFilter() {
        secureQueues()
        let u = "00000000-0000-0000-0000-000000000002"
        write(type + "/create", u)
        let m = "\(matrix)/\(u)"
        write(m + "/ap_config", maskText("06") + "," + maskText("08") + "," + maskText("08"))
        assertShow(m + "/guest_matrix", "05.0004\n06.0004\n")
        write("/bus/ap/drivers/vfio_ap/unbind", "05.0004\n")
        assertShow(m + "/matrix", "05.0004\n06.0004\n")
        assertShow(m + "/guest_matrix", "06.0004\n")
        assertStoreFails("/bus/ap/drivers/cex4queue/bind", "05.0004\n", .noDevice)
        write("/bus/ap/drivers/vfio_ap/bind", "05.0004\n")
        assertShow(m + "/guest_matrix", "05.0004\n06.0004\n")
        assertStoreFails("/bus/ap/drivers/vfio_ap/bind", "05.0004\n", .resourceBusy)
        assertStoreFails("/bus/ap/drivers/vfio_ap/unbind", "07.0004\n", .noDevice)
    }

    // MARK: - cards and queues

    func testCardAttributes() {
        let c = "/devices/ap/card05"
        assertShow(c + "/hwtype", "11\n")
        assertShow(c + "/raw_hwtype", "11\n")
        // depth_show: TAPQ qd (7 in the topology) + 1 since v6.19-rc7.
        assertShow(c + "/depth", "8\n")
        assertShow(c + "/ap_functions", "0xF2800000\n")
        assertShow("/devices/ap/card06/ap_functions", "0xEA800000\n")
        assertShow(c + "/modalias", "ap:t0B\n")
        assertShow(c + "/type", "CEX5C\n")
        assertShow("/devices/ap/card06/type", "CEX5A\n")
        assertShow(c + "/uevent", "DEVTYPE=ap_card\nDRIVER=cex4card\nDEV_TYPE=000B\nMODALIAS=ap:t0B\nMODE=cca\n")
        assertShow("/devices/ap/card06/uevent", "DEVTYPE=ap_card\nDRIVER=cex4card\nDEV_TYPE=000B\nMODALIAS=ap:t0B\nMODE=accel\n")
        assertShow(c + "/config", "1\n")
        assertShow(c + "/chkstop", "0\n")
        assertShow(c + "/online", "1\n")
        assertShow(c + "/max_msg_size", "12288\n")
        assertShow(c + "/serialnr", "93AADFK7\n")
        assertShow(c + "/request_count", "0\n")
        assertShow(c + "/requestq_count", "0\n")
        assertShow(c + "/pendingq_count", "0\n")
        XCTAssertEqual(names(c).filter { $0.contains(".") }, ["05.0004", "05.0047", "05.00ab", "05.00ff"])

        assertStoreFails(c + "/config", "2", .invalidArgument)
        assertStoreFails(c + "/config", "abc", .invalidArgument)
        write(c + "/config", " 0\n")
        assertShow(c + "/config", "0\n")
        assertShow(c + "/online", "0\n")
        assertShow(c + "/05.0004/config", "0\n")
        assertStoreFails(c + "/online", "1", .noDevice)
        assertStoreFails(c + "/05.0004/online", "1", .noDevice)
        write(c + "/config", "1abc")
        write(c + "/online", "0")
        assertStoreFails(c + "/05.0004/online", "1", .invalidArgument)
        assertStoreFails(c + "/online", "-1", .invalidArgument)
        write(c + "/online", "1")
        write(c + "/05.0004/online", "1\n")
        assertShow(c + "/05.0004/online", "1\n")
    }

    func testQueueAttributes() {
        let q = "/devices/ap/card05/05.0004"
        assertShow(q + "/uevent", "DEVTYPE=ap_queue\nDRIVER=cex4queue\nMODE=cca\n")
        assertShow("/devices/ap/card06/06.00ff/uevent", "DEVTYPE=ap_queue\nDRIVER=cex4queue\nMODE=accel\n")
        assertShow(q + "/request_count", "0\n")
        assertShow(q + "/requestq_count", "0\n")
        assertShow(q + "/pendingq_count", "0\n")
        assertShow(q + "/reset", "No Reset Timer set.\n")
        assertShow(q + "/interrupt", "Interrupts enabled.\n")
        assertShow(q + "/config", "1\n")
        assertShow(q + "/chkstop", "0\n")
        assertShow(q + "/ap_functions", "0xF2800000\n")
        assertShow(q + "/driver_override", "\n")
        assertShow(q + "/online", "1\n")
        assertShow(q + "/load", "0\n")
        XCTAssertEqual(read(q + "/mkvps")?.split(separator: "\n").first, "AES NEW: empty 0x0000000000000000")
        XCTAssertFalse(names(q).contains("status"))

        // driver_override: allowed with all-ones masks; then the masks are refused.
        write(q + "/driver_override", "vfio_ap\n")
        assertShow(q + "/driver_override", "vfio_ap\n")
        assertStoreFails("/bus/ap/apmask", "-5", .invalidArgument)
        assertStoreFails("/bus/ap/aqmask", allOnesText, .invalidArgument)
        write("/bus/ap/drivers/cex4queue/unbind", "05.0004")
        assertShow("/bus/ap/bindings", "7/8\n")
        write("/bus/ap/drivers_probe", "05.0004\n")
        assertShow(q + "/uevent", "DEVTYPE=ap_queue\nDRIVER=vfio_ap\nMODE=cca\n")
        assertShow("/bus/ap/bindings", "8/8 (complete)\n")
        assertShow("/bus/ap/bindings_complete_count", "2\n")
        write(q + "/driver_override", "\n")
        assertShow(q + "/driver_override", "\n")
        write("/bus/ap/apmask", "-5")
        assertStoreFails(q + "/driver_override", "vfio_ap", .invalidArgument)

        write(q + "/hwinfo", "0xf2800000000f0007")
        assertShow(q + "/hwinfo", "0xf2800000000f0007\n")
        assertShow(q + "/ap_functions", "0xF2800000\n")
    }

    // MARK: - matrix device

    func testMatrixDevice() {
        assertShow(matrix + "/features", "guest_matrix hotplug ap_config migratable\n")
        assertShow(type + "/name", "VFIO AP Passthrough Device\n")
        assertShow(type + "/device_api", "vfio-ap\n")
        assertShow(type + "/available_instances", "65536\n")
        XCTAssertEqual(Set(names(type)), ["available_instances", "create", "device_api", "devices", "name"])
        assertShow(matrix + "/uevent", "DRIVER=vfio_ap\n")

        let u = "62177883-f1bb-47f0-914d-32a22e3a8804"
        assertStoreFails(type + "/create", String(u.dropLast()), .invalidArgument)
        assertStoreFails(type + "/create", u + "\n\n", .invalidArgument)
        assertStoreFails(type + "/create", "62177883-f1bb-47f0-914d_32a22e3a8804", .invalidArgument)
        write(type + "/create", u + "\n")
        assertStoreFails(type + "/create", u, .fileExists)
        assertStoreFails(type + "/create", u.uppercased() + "x", .fileExists)
        XCTAssertEqual(names(type + "/devices"), [u])
        XCTAssertEqual(names(matrix).filter { $0.count == 36 }, [u])
        XCTAssertEqual(Array(names("\(matrix)/\(u)").prefix(10)), [
            "assign_adapter", "unassign_adapter", "assign_domain", "unassign_domain", "assign_control_domain",
            "unassign_control_domain", "ap_config", "control_domains", "matrix", "guest_matrix",
        ], "vfio_ap_mdev_attrs[] order")
        assertShow("/kernel/iommu_groups/0/name", "vfio-noiommu\n")

        tree.host.update { $0.maxMdevs = 1 }
        assertStoreFails(type + "/create", "00000000-0000-0000-0000-000000000000", .tooManyUsers)
        assertShow(type + "/available_instances", "0\n")
    }

    // MARK: - symlinks, modes, open checks, limits

    func testSymlinkTargets() {
        let u = "62177883-f1bb-47f0-914d-32a22e3a8804"
        write(type + "/create", u)
        let expected: [String: String] = [
            "/bus/ap/devices/card05": "../../../devices/ap/card05",
            "/bus/ap/devices/05.0004": "../../../devices/ap/card05/05.0004",
            "/bus/ap/drivers/cex4card/card06": "../../../../devices/ap/card06",
            "/bus/ap/drivers/cex4queue/06.00ff": "../../../../devices/ap/card06/06.00ff",
            "/bus/ap/drivers/cex4card/module": "../../../../module/zcrypt_cex4",
            "/bus/ap/drivers/vfio_ap/module": "../../../../module/vfio_ap",
            "/devices/ap/card05/driver": "../../../bus/ap/drivers/cex4card",
            "/devices/ap/card05/subsystem": "../../../bus/ap",
            "/devices/ap/card05/05.0004/driver": "../../../../bus/ap/drivers/cex4queue",
            "/devices/ap/card05/05.0004/subsystem": "../../../../bus/ap",
            "/devices/vfio_ap/module": "../../module/vfio_ap",
            "\(matrix)/driver": "../../../bus/matrix/drivers/vfio_ap",
            "\(matrix)/subsystem": "../../../bus/matrix",
            "/bus/matrix/devices/matrix": "../../../devices/vfio_ap/matrix",
            "/class/mdev_bus/matrix": "../../devices/vfio_ap/matrix",
            "\(type)/devices/\(u)": "../../../\(u)",
            "\(matrix)/\(u)/mdev_type": "../mdev_supported_types/vfio_ap-passthrough",
            "\(matrix)/\(u)/driver": "../../../../bus/mdev/drivers/vfio_ap_mdev",
            "\(matrix)/\(u)/subsystem": "../../../../bus/mdev",
            "\(matrix)/\(u)/iommu_group": "../../../../kernel/iommu_groups/0",
            "/bus/mdev/devices/\(u)": "../../../devices/vfio_ap/matrix/\(u)",
            "/bus/mdev/drivers/vfio_ap_mdev/\(u)": "../../../../devices/vfio_ap/matrix/\(u)",
        ]
        for (path, target) in expected.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(link(path), target, path)
            XCTAssertEqual(try? tree.stat(path).get().type, .symlink, path)
        }
        XCTAssertEqual(tree.readlink("/bus/ap/apmask"), .failure(.invalidArgument))
        XCTAssertEqual(tree.readlink("/bus/ap/devices/card07"), .failure(.noSuchFileOrDirectory))
        XCTAssertFalse(names("/bus/matrix/drivers/vfio_ap").contains("bind"), "suppress_bind_attrs")
    }

    /// resolve() splits off only the names below the deepest directory it
    /// has cached: every form of a path resolves the same on a fresh tree
    /// (nothing cached) and on one that has resolved its directories, and
    /// a name under an attribute, a missing one or one that only starts
    /// like a real one fails as before.
    func testPathFormsResolveAlike() throws {
        let host = tree.host
        for round in ["cold", "warm"] {
            // Cold: a tree of its own for each path, so each is walked from the root.
            let fresh: () -> SysfsTree = { round == "cold" ? SysfsTree(host: host) : self.tree }
            for form in ["/bus/ap/ap_domain", "bus/ap/ap_domain", "/bus//ap/ap_domain", "//bus/ap/ap_domain"] {
                XCTAssertEqual(try? fresh().stat(form).get().type, .regularFile, "\(round) \(form)")
            }
            for form in ["/bus/ap", "bus/ap/", "/bus/ap//", "", "/", "//"] {
                XCTAssertEqual(try? fresh().stat(form).get().type, .directory, "\(round) '\(form)'")
            }
            XCTAssertEqual(fresh().readlink("bus/ap/devices/05.0004"), .success("../../../devices/ap/card05/05.0004"), round)
            XCTAssertEqual(fresh().stat("/bus/ap/ap_domain/x").map(\.type), .failure(.notDirectory), round)
            XCTAssertEqual(fresh().stat("/bus/ap/nothing/x").map(\.type), .failure(.noSuchFileOrDirectory), round)
            XCTAssertEqual(fresh().stat("/bus/ap/\u{301}ap_domain").map(\.type), .failure(.noSuchFileOrDirectory), round)
            XCTAssertEqual(fresh().stat("/devices/ap/card05/05.0004/online").map(\.mode), .success(0o644), round)
        }
        assertShow("bus/ap/ap_domain", read("/bus/ap/ap_domain") ?? "-")
    }

    func testModes() {
        let u = "62177883-f1bb-47f0-914d-32a22e3a8804"
        write(type + "/create", u)
        let m = "\(matrix)/\(u)"
        let expected: [String: UInt16] = [
            "/bus/ap/ap_domain": 0o644, "/bus/ap/apmask": 0o644, "/bus/ap/aqmask": 0o644, "/bus/ap/bindings": 0o444,
            "/bus/ap/features": 0o444, "/bus/ap/ap_adapter_mask": 0o444, "/bus/ap/scans": 0o644,
            "/bus/ap/drivers_probe": 0o200, "/bus/ap/uevent": 0o200, "/bus/ap/drivers_autoprobe": 0o644,
            "/bus/ap/drivers/vfio_ap/bind": 0o200, "/bus/ap/drivers/vfio_ap/unbind": 0o200,
            "/devices/ap/card05/config": 0o644, "/devices/ap/card05/hwtype": 0o444, "/devices/ap/card05/uevent": 0o644,
            "/devices/ap/card05/online": 0o644, "/devices/ap/card05/request_count": 0o644,
            "/devices/ap/card05/05.0004/config": 0o444, "/devices/ap/card05/05.0004/driver_override": 0o644,
            "/devices/ap/card05/05.0004/reset": 0o644, "/devices/ap/card05/05.0004/ap_functions": 0o444,
            "\(matrix)/features": 0o444, "\(type)/create": 0o200, "\(type)/available_instances": 0o444,
            "\(m)/assign_adapter": 0o200, "\(m)/unassign_domain": 0o200, "\(m)/ap_config": 0o644,
            "\(m)/matrix": 0o444, "\(m)/guest_matrix": 0o444, "\(m)/control_domains": 0o444, "\(m)/remove": 0o200,
            "/bus/ap": 0o755, "/devices/ap/card05": 0o755,
        ]
        for (path, mode) in expected.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(self.mode(path), mode, path)
        }
        let st = try? tree.stat("/bus/ap/apmask").get()
        XCTAssertEqual(st?.size, 4096)
        XCTAssertEqual(st?.nlink, 1)
        XCTAssertEqual(st?.type, .regularFile)
        XCTAssertEqual(try? tree.stat("/devices/ap").get().nlink, 4, "2 + card05 + card06")
    }

    func openError(_ path: String, access: OpenAccess) -> Errno? {
        if case .failure(let e) = tree.checkOpen(path, access: access) { return e }
        return nil
    }

    func testCheckOpen() {
        XCTAssertEqual(openError("/bus/ap/bindings", access: .writeOnly), .permissionDenied)
        XCTAssertEqual(openError("/bus/ap/bindings", access: .readWrite), .permissionDenied)
        XCTAssertNoThrow(try tree.checkOpen("/bus/ap/bindings", access: .readOnly).get())
        XCTAssertEqual(openError("/bus/ap/drivers_probe", access: .readOnly), .permissionDenied)
        XCTAssertEqual(openError("/bus/ap/drivers_probe", access: .readWrite), .permissionDenied)
        XCTAssertNoThrow(try tree.checkOpen("/bus/ap/drivers_probe", access: .writeOnly).get())
        XCTAssertNoThrow(try tree.checkOpen("/bus/ap/apmask", access: .readWrite).get())
        XCTAssertEqual(openError("\(type)/create", access: .readOnly), .permissionDenied)
        XCTAssertEqual(openError("/bus/ap/nothing", access: .readOnly), .noSuchFileOrDirectory)
        XCTAssertEqual(tree.stat("/bus/ap/apmask/x"), .failure(.notDirectory))
        XCTAssertEqual(tree.show("/bus/ap/drivers_probe"), .failure(.ioError))
        XCTAssertEqual(tree.store("/bus/ap/bindings", bytes("1")), .failure(.ioError))
    }

    func testStoreCapsAt4096Bytes() {
        let big = [UInt8](repeating: 0x31, count: 5000)
        XCTAssertEqual(tree.store("/bus/ap/scans", big), .success(4096))
        XCTAssertEqual(tree.store("/bus/ap/scans", [0x31]), .success(1))
        XCTAssertEqual(tree.store("/bus/ap/scans", []), .success(0))
    }

    func testShowCapsAt4095Bytes() {
        // No APQN reserved: echo > aqmask.
        write("/bus/ap/aqmask", "\n")
        assertShow("/bus/ap/aqmask", maskText("") + "\n")
        let u = "62177883-f1bb-47f0-914d-32a22e3a8804"
        write(type + "/create", u)
        let m = "\(matrix)/\(u)"
        // Adapters 0-15 x domains 0-31: 512 APQNs, 4096 bytes of "xx.yyyy\n".
        write(m + "/ap_config", "0xffff,0xffffffff,0x1\n")
        guard let text = read(m + "/matrix") else { return }
        XCTAssertEqual(text.utf8.count, 4095)
        XCTAssertTrue(text.hasPrefix("00.0000\n00.0001\n"))
        XCTAssertTrue(text.hasSuffix("0f.001e\n0f.001f"), "the last newline is cut")
    }
}
