import APCore
import Sysfs
import SystemPackage
import TestSupport
import XCTest

/// `se_bind` and `se_associate` of an SE guest with APSB (ap_queue.c).
final class SecureExecutionAttributesTests: XCTestCase {
    static let topology = """
        machine: {facilities: [APSC, APXA, QACT, RC8A, APSB], secure_execution_guest: true}
        adapters:
          - {id: 0x05, type: CEX8, mode: ep11}
          - {id: 0x06, type: CEX8, mode: accel}
          - {id: 0x07, type: CEX8, mode: cca}
        usage_domains: [0x04]
        queues:
          - {apqn: 05.0004, bind_state: 2}
          - {apqn: 06.0004, bind_state: 2}
        """

    func show(_ tree: SysfsTree, _ path: String) -> String {
        switch tree.show(path) {
        case .success(let b): return String(decoding: b, as: UTF8.self)
        case .failure(let e): return "error \(e)"
        }
    }

    func store(_ tree: SysfsTree, _ path: String, _ text: String) -> Errno? {
        if case .failure(let e) = tree.store(path, Array(text.utf8)) { return e }
        return nil
    }

    func testBindThenAssociateAnEP11Queue() throws {
        let tree = SysfsTree(host: try makeHost(Self.topology))
        let q = "/devices/ap/card05/05.0004/"
        XCTAssertEqual(show(tree, q + "se_bind"), "unbound\n")
        XCTAssertEqual(show(tree, q + "se_associate"), "unassociated\n")
        XCTAssertEqual(store(tree, q + "se_associate", "7"), .invalidArgument, "not bound yet")
        XCTAssertEqual(store(tree, q + "se_bind", "maybe"), .invalidArgument)
        XCTAssertNil(store(tree, q + "se_bind", "1\n"))
        XCTAssertEqual(show(tree, q + "se_bind"), "bound\n")
        XCTAssertEqual(show(tree, q + "hwinfo").dropFirst(6).prefix(1), "4", "BS 1: usable without secure key")
        XCTAssertEqual(store(tree, q + "se_bind", "1"), .invalidArgument, "no longer available for binding")
        XCTAssertEqual(store(tree, q + "se_associate", "0x10000"), .invalidArgument)
        XCTAssertEqual(store(tree, q + "se_associate", "4294967296"), .outOfRange)
        XCTAssertNil(store(tree, q + "se_associate", "0x2a"))
        XCTAssertEqual(show(tree, q + "se_associate"), "associated 42\n")
        XCTAssertNil(store(tree, q + "se_bind", "0"))
        XCTAssertEqual(show(tree, q + "se_bind"), "unbound\n")
        XCTAssertEqual(show(tree, q + "se_associate"), "unassociated\n")
    }

    func testAcceleratorBindsWithoutAssociation() throws {
        let tree = SysfsTree(host: try makeHost(Self.topology))
        let q = "/devices/ap/card06/06.0004/"
        XCTAssertEqual(show(tree, q + "se_associate"), "-\n")
        XCTAssertEqual(store(tree, q + "se_associate", "1"), .invalidArgument)
        XCTAssertNil(store(tree, q + "se_bind", "y"))
        XCTAssertEqual(show(tree, q + "se_bind"), "bound\n")
    }

    func testCCAQueuesCannotBindAndOnlySEGuestsHaveTheFiles() throws {
        let tree = SysfsTree(host: try makeHost(Self.topology))
        XCTAssertEqual(show(tree, "/devices/ap/card07/07.0004/se_bind"), "-\n")
        XCTAssertEqual(store(tree, "/devices/ap/card07/07.0004/se_bind", "1"), .invalidArgument)
        let plain = SysfsTree(host: try makeHost("adapters: [{id: 0x05, type: CEX8, mode: ep11}]\nusage_domains: [4]\n"))
        XCTAssertEqual(plain.stat("/devices/ap/card05/05.0004/se_bind").map(\.size), .failure(.noSuchFileOrDirectory))
    }
}
