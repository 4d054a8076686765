import APCore
import SystemPackage
@testable import VFIOMigration
import TestSupport
import XCTest

/// A SET whose second arc fails: the driver records the state after each
/// successful arc (patch 05 `vfio_ap_set_state`), so the user sees the
/// partial path. Unreachable through the device table (the mdev cannot
/// vanish while open), so the driver is run on a state without its mdev.
final class DriverPartialPathTests: XCTestCase {
    func testFailingSecondArcLeavesTheFirstArcsState() throws {
        let r = try Rig(adapters: [5, 6], domains: [4, 0xab], open: false)
        var s = r.host.read { $0 }
        s.mdevs.removeAll()
        let d = VFIOAPMigration(uuid: r.uuid)
        XCTAssertEqual(d.flags, .stopCopy)
        XCTAssertEqual(d.state, .running)
        // RUNNING -> STOP succeeds, STOP -> STOP_COPY finds no mdev.
        assertErrno(.noDevice) { try d.setState(.stopCopy, &s) }
        XCTAssertEqual(d.state, .stop)
        XCTAssertNil(d.savingFile)
        // STOP -> RESUMING fails the same way: still STOP.
        assertErrno(.noDevice) { try d.setState(.resuming, &s) }
        XCTAssertEqual(d.state, .stop)
        XCTAssertNil(d.resumingFile)
        // STOP -> RUNNING needs no mdev.
        XCTAssertNil(try d.setState(.running, &s))
        XCTAssertEqual(d.state, .running)
        assertErrno(.noDevice) { try d.dataSize(s) }
    }

    func testDriverFilesAreReleasedWhenLeavingTheirState() throws {
        let r = try Rig(adapters: [5, 6], domains: [4, 0xab], open: false)
        var s = r.host.read { $0 }
        let d = VFIOAPMigration(uuid: r.uuid)
        let save = try XCTUnwrap(try d.setState(.stopCopy, &s))
        XCTAssertEqual(save.direction, .save)
        XCTAssertTrue(d.savingFile === save)
        XCTAssertEqual(save.configSize, 72)
        let resume = try XCTUnwrap(try d.setState(.resuming, &s))
        XCTAssertTrue(save.disabled)
        XCTAssertNil(d.savingFile)
        XCTAssertEqual(resume.direction, .resume)
        XCTAssertEqual(resume.configSize, 72)
        XCTAssertNil(try d.setState(.running, &s))
        XCTAssertTrue(resume.disabled)
        XCTAssertNil(d.resumingFile)
        XCTAssertEqual(resume.position, 0)
    }
}
