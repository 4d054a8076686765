import SystemPackage
import VFIOMigration
import XCTest

/// The effective paths of a STOP_COPY-only device (vfio-migration.md §2.6).
final class NextStateTableTests: XCTestCase {
    func path(_ a: MigrationState, _ b: MigrationState) throws -> [MigrationState] {
        try NextStateTable.path(from: a, to: b, flags: .stopCopy)
    }

    func testStopCopyOnlyPaths() throws {
        XCTAssertEqual(try path(.running, .stop), [.stop])
        XCTAssertEqual(try path(.running, .stopCopy), [.stop, .stopCopy])
        XCTAssertEqual(try path(.running, .resuming), [.stop, .resuming])
        XCTAssertEqual(try path(.stop, .running), [.running])
        XCTAssertEqual(try path(.stop, .stopCopy), [.stopCopy])
        XCTAssertEqual(try path(.stop, .resuming), [.resuming])
        XCTAssertEqual(try path(.stopCopy, .stop), [.stop])
        XCTAssertEqual(try path(.stopCopy, .running), [.stop, .running])
        XCTAssertEqual(try path(.stopCopy, .resuming), [.stop, .resuming])
        XCTAssertEqual(try path(.resuming, .stop), [.stop])
        XCTAssertEqual(try path(.resuming, .running), [.stop, .running])
        XCTAssertEqual(try path(.resuming, .stopCopy), [.stop, .stopCopy])
        XCTAssertEqual(try path(.stopCopy, .stopCopy), [])
    }

    func testUnsupportedTargetsAreEINVAL() {
        for target in [MigrationState.runningP2P, .preCopy, .preCopyP2P, .error] {
            for current in [MigrationState.stop, .running, .stopCopy, .resuming] {
                XCTAssertThrowsError(try NextStateTable.next(from: current, to: target, flags: .stopCopy)) {
                    XCTAssertEqual($0 as? Errno, .invalidArgument, "\(current) -> \(target)")
                }
            }
        }
        XCTAssertThrowsError(try NextStateTable.next(from: .error, to: .running, flags: .stopCopy)) {
            XCTAssertEqual($0 as? Errno, .invalidArgument)
        }
    }

    func testFullFlagsUseOptionalStates() throws {
        let all: MigrationFlags = [.stopCopy, .p2p, .preCopy]
        XCTAssertEqual(try NextStateTable.path(from: .running, to: .stop, flags: all), [.runningP2P, .stop])
        // vfio-migration.md §2.5: table[RUNNING][STOP_COPY] is RUNNING_P2P, not PRE_COPY.
        XCTAssertEqual(try NextStateTable.path(from: .running, to: .stopCopy, flags: all), [.runningP2P, .stop, .stopCopy])
        XCTAssertEqual(try NextStateTable.path(from: .preCopy, to: .stopCopy, flags: all), [.preCopyP2P, .stopCopy])
        XCTAssertThrowsError(try NextStateTable.next(from: .stopCopy, to: .preCopy, flags: all))
    }
}
