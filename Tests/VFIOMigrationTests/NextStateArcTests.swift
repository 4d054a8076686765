import SystemPackage
import TestSupport
import VFIOMigration
import XCTest

/// Every arc of `vfio_mig_get_next_state` against the table of
/// vfio-migration.md §2.5, written here literally, and the effective paths
/// of a STOP_COPY-only device (§2.6).
final class NextStateArcTests: XCTestCase {
    typealias S = MigrationState

    static let all: MigrationFlags = [.stopCopy, .p2p, .preCopy]

    /// vfio-migration.md §2.5, row by row and column by column in the
    /// document's order (not the uAPI order).
    static let order = ["STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P", "ERROR"]
    static let referenceTable: [String: [String]] = [
        "STOP": ["STOP", "RUNNING_P2P", "STOP_COPY", "RESUMING", "RUNNING_P2P", "RUNNING_P2P", "RUNNING_P2P", "ERROR"],
        "RUNNING": ["RUNNING_P2P", "RUNNING", "RUNNING_P2P", "RUNNING_P2P", "RUNNING_P2P", "PRE_COPY", "RUNNING_P2P", "ERROR"],
        "PRE_COPY": ["RUNNING", "RUNNING", "PRE_COPY_P2P", "RUNNING", "RUNNING", "PRE_COPY", "PRE_COPY_P2P", "ERROR"],
        "PRE_COPY_P2P": ["RUNNING_P2P", "RUNNING_P2P", "STOP_COPY", "RUNNING_P2P", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P", "ERROR"],
        "STOP_COPY": ["STOP", "STOP", "STOP_COPY", "STOP", "STOP", "ERROR", "ERROR", "ERROR"],
        "RESUMING": ["STOP", "STOP", "STOP", "RESUMING", "STOP", "STOP", "STOP", "ERROR"],
        "RUNNING_P2P": ["STOP", "RUNNING", "STOP", "STOP", "RUNNING_P2P", "RUNNING", "PRE_COPY_P2P", "ERROR"],
        "ERROR": ["ERROR", "ERROR", "ERROR", "ERROR", "ERROR", "ERROR", "ERROR", "ERROR"],
    ]

    static func raw(_ cur: S, _ target: S) -> S {
        let row = referenceTable[cur.description]!
        return S(name: row[order.firstIndex(of: target.description)!])!
    }

    /// The states a flag set supports (§2.5 step 1).
    static func supported(_ s: S, _ flags: MigrationFlags) -> Bool {
        switch s {
        case .error: return false
        case .stop, .running, .stopCopy, .resuming: return flags.contains(.stopCopy)
        case .runningP2P: return flags.isSuperset(of: [.stopCopy, .p2p])
        case .preCopy: return flags.isSuperset(of: [.stopCopy, .preCopy])
        case .preCopyP2P: return flags.isSuperset(of: [.stopCopy, .p2p, .preCopy])
        }
    }

    func testReferenceTableIsComplete() {
        XCTAssertEqual(Set(Self.referenceTable.keys), Set(Self.order))
        XCTAssertEqual(Set(S.allCases.map(\.description)), Set(Self.order))
        for row in Self.referenceTable.values { XCTAssertEqual(row.count, 8) }
    }

    /// With every optional state supported no entry is skipped: each arc is
    /// the raw table entry, ERROR entries (blocked arcs) are EINVAL.
    func testEveryArcWithFullFlags() throws {
        for cur in S.allCases {
            for target in S.allCases {
                let arc = "\(cur) -> \(target)"
                if cur == .error || target == .error {
                    assertErrno(.invalidArgument, arc) { try NextStateTable.next(from: cur, to: target, flags: Self.all) }
                    continue
                }
                let expected = Self.raw(cur, target)
                if expected == .error {
                    assertErrno(.invalidArgument, arc) { try NextStateTable.next(from: cur, to: target, flags: Self.all) }
                } else {
                    XCTAssertEqual(try NextStateTable.next(from: cur, to: target, flags: Self.all), expected, arc)
                }
            }
        }
        // The blocked arcs: STOP_COPY -> PRE_COPY / PRE_COPY_P2P.
        assertErrno(.invalidArgument) { try NextStateTable.next(from: .stopCopy, to: .preCopy, flags: Self.all) }
        assertErrno(.invalidArgument) { try NextStateTable.next(from: .stopCopy, to: .preCopyP2P, flags: Self.all) }
    }

    /// STOP_COPY only: the RUNNING_P2P entries collapse onto STOP or RUNNING
    /// (hand-derived from the table and the skip loop).
    func testEveryArcStopCopyOnly() throws {
        let expected: [S: [S: S]] = [
            .stop: [.stop: .stop, .running: .running, .stopCopy: .stopCopy, .resuming: .resuming],
            .running: [.stop: .stop, .running: .running, .stopCopy: .stop, .resuming: .stop],
            .stopCopy: [.stop: .stop, .running: .stop, .stopCopy: .stopCopy, .resuming: .stop],
            .resuming: [.stop: .stop, .running: .stop, .stopCopy: .stop, .resuming: .resuming],
        ]
        for cur in S.allCases {
            for target in S.allCases {
                let arc = "\(cur) -> \(target)"
                if let next = expected[cur]?[target] {
                    XCTAssertEqual(try NextStateTable.next(from: cur, to: target, flags: .stopCopy), next, arc)
                } else {
                    // Unsupported current (ERROR, optional states) or target.
                    assertErrno(.invalidArgument, arc) { try NextStateTable.next(from: cur, to: target, flags: .stopCopy) }
                }
            }
        }
    }

    /// For every valid flag set, the helper equals the §2.5 algorithm run on
    /// the literal table: raw entry, then skip unsupported states.
    func testSkipLoopForEveryFlagSet() throws {
        let flagSets: [MigrationFlags] = [.stopCopy, [.stopCopy, .p2p], [.stopCopy, .preCopy], Self.all]
        for flags in flagSets {
            for cur in S.allCases {
                for target in S.allCases {
                    let arc = "\(cur) -> \(target) flags \(flags.rawValue)"
                    guard Self.supported(cur, flags), Self.supported(target, flags) else {
                        assertErrno(.invalidArgument, arc) { try NextStateTable.next(from: cur, to: target, flags: flags) }
                        continue
                    }
                    var next = Self.raw(cur, target)
                    while next != .error && !Self.supported(next, flags) { next = Self.raw(next, target) }
                    if next == .error {
                        assertErrno(.invalidArgument, arc) { try NextStateTable.next(from: cur, to: target, flags: flags) }
                    } else {
                        XCTAssertEqual(try NextStateTable.next(from: cur, to: target, flags: flags), next, arc)
                        XCTAssertTrue(Self.supported(next, flags), arc)
                    }
                }
            }
        }
    }

    /// vfio-migration.md §2.6, row by row.
    func testEffectivePathsStopCopyOnly() throws {
        let table: [(S, S, [S])] = [
            (.running, .stop, [.stop]),
            (.running, .stopCopy, [.stop, .stopCopy]),
            (.running, .resuming, [.stop, .resuming]),
            (.stop, .running, [.running]),
            (.stop, .stopCopy, [.stopCopy]),
            (.stop, .resuming, [.resuming]),
            (.stopCopy, .stop, [.stop]),
            (.stopCopy, .running, [.stop, .running]),
            (.stopCopy, .resuming, [.stop, .resuming]),
            (.resuming, .stop, [.stop]),
            (.resuming, .running, [.stop, .running]),
            (.resuming, .stopCopy, [.stop, .stopCopy]),
        ]
        for (from, to, path) in table {
            XCTAssertEqual(try NextStateTable.path(from: from, to: to, flags: .stopCopy), path, "\(from) -> \(to)")
        }
        for s in [S.stop, .running, .stopCopy, .resuming] {
            XCTAssertEqual(try NextStateTable.path(from: s, to: s, flags: .stopCopy), [], "\(s) -> \(s)")
        }
    }

    func testUnsupportedTargetsAndErrorAreEINVAL() {
        for cur in [S.stop, .running, .stopCopy, .resuming] {
            for target in [S.runningP2P, .preCopy, .preCopyP2P, .error] {
                assertErrno(.invalidArgument, "\(cur) -> \(target)") { try NextStateTable.next(from: cur, to: target, flags: .stopCopy) }
                assertErrno(.invalidArgument, "\(cur) -> \(target)") { try NextStateTable.path(from: cur, to: target, flags: .stopCopy) }
            }
        }
        for target in S.allCases where target != .error {
            assertErrno(.invalidArgument, "ERROR -> \(target)") { try NextStateTable.next(from: .error, to: target, flags: .stopCopy) }
            assertErrno(.invalidArgument, "ERROR -> \(target)") { try NextStateTable.next(from: .error, to: target, flags: Self.all) }
            assertErrno(.invalidArgument, "ERROR -> \(target)") { try NextStateTable.path(from: .error, to: target, flags: .stopCopy) }
        }
    }

    func testFullFlagPaths() throws {
        XCTAssertEqual(try NextStateTable.path(from: .running, to: .stopCopy, flags: Self.all), [.runningP2P, .stop, .stopCopy])
        XCTAssertEqual(try NextStateTable.path(from: .running, to: .stop, flags: Self.all), [.runningP2P, .stop])
        XCTAssertEqual(try NextStateTable.path(from: .preCopy, to: .stopCopy, flags: Self.all), [.preCopyP2P, .stopCopy])
        XCTAssertEqual(try NextStateTable.path(from: .stop, to: .preCopy, flags: Self.all), [.runningP2P, .running, .preCopy])
        XCTAssertEqual(try NextStateTable.path(from: .resuming, to: .running, flags: Self.all), [.stop, .runningP2P, .running])
        // P2P without PRE_COPY: RUNNING -> STOP_COPY goes through RUNNING_P2P.
        XCTAssertEqual(try NextStateTable.path(from: .running, to: .stopCopy, flags: [.stopCopy, .p2p]), [.runningP2P, .stop, .stopCopy])
        // PRE_COPY without P2P: PRE_COPY_P2P is skipped, table[PRE_COPY_P2P][STOP_COPY] = STOP_COPY.
        XCTAssertEqual(try NextStateTable.path(from: .preCopy, to: .stopCopy, flags: [.stopCopy, .preCopy]), [.stopCopy])
    }

    func testUAPINumbersAndNames() {
        XCTAssertEqual(S.allCases.map(\.rawValue), [0, 1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(MigrationFlags.stopCopy.rawValue, 1)
        XCTAssertEqual(MigrationFlags.p2p.rawValue, 2)
        XCTAssertEqual(MigrationFlags.preCopy.rawValue, 4)
        XCTAssertEqual(S(name: "stop_copy"), .stopCopy)
        XCTAssertEqual(S(name: "VFIO_DEVICE_STATE_RESUMING"), .resuming)
        XCTAssertEqual(S(name: "3"), .stopCopy)
        XCTAssertEqual(S(name: "pre-copy-p2p"), .preCopyP2P)
        XCTAssertNil(S(name: "8"))
        XCTAssertNil(S(name: "PAUSED"))
    }
}
