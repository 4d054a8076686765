import APCore
import VFIOMigration
import XCTest

/// The compatibility rule of vfio-ap.rst / patch 09, each field in both
/// directions, and the report lines in the words of the patch 09 format
/// strings.
final class QueueCompatibilityTests: XCTestCase {
    let q = APQN(card: 5, domain: 4)
    /// CEX8 CCA: APSC AP4KM AP4KC CCA APXA, native, 255 domains, depth 7.
    let base = HardwareInfo(value: 0xF280_0000_0EFF_0007)
    let header = "Migration failed: Source and target queue (05.0004) not compatible"

    func check(_ s: HardwareInfo, _ t: HardwareInfo, compatible: Bool, lines: [String] = [],
               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(QueueCompatibility.isCompatible(source: s, target: t), compatible, file: file, line: line)
        if !compatible {
            XCTAssertEqual(QueueCompatibility.report(apqn: q, source: s, target: t), [header] + lines, file: file, line: line)
        }
    }

    func testIdenticalQueuesAreCompatible() {
        check(base, base, compatible: true)
        check(HardwareInfo(value: 0), HardwareInfo(value: 0), compatible: true)
    }

    /// (field, lines when only the source has it, lines when only the target has it)
    func testEveryFlagInBothDirections() {
        let cases: [(String, WritableKeyPath<HardwareInfo, Bool>, [String], [String])] = [
            ("APSC", \.apsc,
             ["APSC facility installed in source queue 05.0004", "APSC facility not installed in target queue 05.0004"],
             ["APSC facility not installed in source queue 05.0004", "APSC facility installed in target queue 05.0004"]),
            ("AP4KM", \.mex4k,
             ["mex4k facility installed in source queue 05.0004", "mex4k facility not installed in target queue 05.0004"],
             ["mex4k facility not installed in source queue 05.0004", "mex4k facility installed in target queue 05.0004"]),
            ("AP4KC", \.crt4k,
             ["crt4k facility installed in source queue 05.0004", "crt4k facility not installed in target queue 05.0004"],
             ["crt4k facility not installed in source queue 05.0004", "crt4k facility installed in target queue 05.0004"]),
            ("CCA", \.cca,
             ["Coprocessor-mode facility installed in source queue 05.0004", "Coprocessor-mode facility not installed target queue 05.0004"],
             ["Coprocessor-mode facility not installed in source queue 05.0004", "Coprocessor-mode facility installed target queue 05.0004"]),
            ("accel", \.accel,
             ["Accelerator-mode facility installed source queue 05.0004", "Accelerator-mode facility not installed target queue 05.0004"],
             ["Accelerator-mode facility not installed source queue 05.0004", "Accelerator-mode facility installed target queue 05.0004"]),
            ("EP11", \.ep11,
             ["XCP-mode facility installed source queue 05.0004", "XCP-mode facility not installed target queue 05.0004"],
             ["XCP-mode facility not installed source queue 05.0004", "XCP-mode facility installed target queue 05.0004"]),
            ("APXA", \.apxa,
             ["AP-extended-addressing (APXA) facility installed in source queue 05.0004",
              "AP-extended-addressing (APXA) facility not installed in target queue 05.0004"],
             ["AP-extended-addressing (APXA) facility not installed in source queue 05.0004",
              "AP-extended-addressing (APXA) facility installed in target queue 05.0004"]),
            ("SLCF", \.slcf,
             ["Stateless-command-filtering (SLCF) available in source queue 05.0004",
              "Stateless-command-filtering (SLCF) not available in target queue 05.0004"],
             ["Stateless-command-filtering (SLCF) not available in source queue 05.0004",
              "Stateless-command-filtering (SLCF) available in target queue 05.0004"]),
        ]
        for (name, key, sourceOnly, targetOnly) in cases {
            var on = base
            on[keyPath: key] = true
            var off = base
            off[keyPath: key] = false
            XCTAssertNotEqual(on, off, name)
            check(on, off, compatible: false, lines: sourceOnly)
            check(off, on, compatible: false, lines: targetOnly)
            check(on, on, compatible: true)
            check(off, off, compatible: true)
        }
    }

    func testClassification() {
        var stateless = base
        stateless.classification = HardwareInfo.classStatelessOnly
        var native = base
        native.classification = HardwareInfo.classNative
        // Stateless-only source to a native target: fine.
        check(stateless, native, compatible: true)
        // Native source to a stateless-only target: refused.
        check(native, stateless, compatible: false, lines: [
            "Full native card function available on source queue 05.0004",
            "Only stateless functions available on target queue 05.0004",
        ])
        // Only the native-function bit counts.
        var both = base
        both.classification = 0xC0
        check(both, native, compatible: true)
        check(native, both, compatible: true)
        var none = base
        none.classification = 0
        check(native, none, compatible: false, lines: [
            "Full native card function available on source queue 05.0004",
            "Only stateless functions available on target queue 05.0004",
        ])
        check(none, stateless, compatible: true)
    }

    func testBindStateNonZeroOnEitherSideIsRefused() {
        for bs in 1...3 {
            var bound = base
            bound.bindState = bs
            check(bound, base, compatible: false,
                  lines: ["Bind/associate state for source (\(bs)) and target (0) queue 05.0004 are not compatible"])
            check(base, bound, compatible: false,
                  lines: ["Bind/associate state for source (0) and target (\(bs)) queue 05.0004 are not compatible"])
            check(bound, bound, compatible: false,
                  lines: ["Bind/associate state for source (\(bs)) and target (\(bs)) queue 05.0004 are not compatible"])
        }
    }

    func testAPTypeTargetNewerIsFineOlderIsRefused() {
        var cex7 = base
        cex7.apType = 0x0d
        check(cex7, base, compatible: true)
        check(base, cex7, compatible: false, lines: ["AP type of source (0e) not compatible with target (0d)"])
        var raw = base
        raw.apType = 0xab
        check(base, raw, compatible: true)
        check(raw, base, compatible: false, lines: ["AP type of source (ab) not compatible with target (0e)"])
    }

    /// Outside the QINFO mask: number of domains, message size, depth, and
    /// the facility bits 18-31.
    func testFieldsOutsideTheRuleDoNotMatter() {
        var other = base
        other.domainCount = 0x54
        other.messageLengthUnits = 6
        other.queueDepth = 1
        other.value |= 1 << (63 - 20)
        other.value |= 1 << (63 - 31)
        check(base, other, compatible: true)
        check(other, base, compatible: true)
    }

    /// Everything at once: the lines follow `report_qinfo_incompatibilities`'
    /// order — facilities, mode, APXA, SLCF, class, AP type, BS.
    func testReportOrder() {
        var s = HardwareInfo(value: 0)
        s.apsc = true; s.mex4k = true; s.crt4k = true
        s.cca = true; s.accel = true; s.ep11 = true
        s.apxa = true; s.slcf = true
        s.classification = HardwareInfo.classNative
        s.apType = 0x0f
        s.bindState = 3
        var t = HardwareInfo(value: 0)
        t.classification = HardwareInfo.classStatelessOnly
        t.apType = 0x0e
        check(s, t, compatible: false, lines: [
            "APSC facility installed in source queue 05.0004",
            "APSC facility not installed in target queue 05.0004",
            "mex4k facility installed in source queue 05.0004",
            "mex4k facility not installed in target queue 05.0004",
            "crt4k facility installed in source queue 05.0004",
            "crt4k facility not installed in target queue 05.0004",
            "Coprocessor-mode facility installed in source queue 05.0004",
            "Coprocessor-mode facility not installed target queue 05.0004",
            "Accelerator-mode facility installed source queue 05.0004",
            "Accelerator-mode facility not installed target queue 05.0004",
            "XCP-mode facility installed source queue 05.0004",
            "XCP-mode facility not installed target queue 05.0004",
            "AP-extended-addressing (APXA) facility installed in source queue 05.0004",
            "AP-extended-addressing (APXA) facility not installed in target queue 05.0004",
            "Stateless-command-filtering (SLCF) available in source queue 05.0004",
            "Stateless-command-filtering (SLCF) not available in target queue 05.0004",
            "Full native card function available on source queue 05.0004",
            "Only stateless functions available on target queue 05.0004",
            "AP type of source (0f) not compatible with target (0e)",
            "Bind/associate state for source (3) and target (0) queue 05.0004 are not compatible",
        ])
    }

    func testReportFormatsTheAPQN() {
        var s = base
        s.apsc = false
        XCTAssertEqual(QueueCompatibility.report(apqn: APQN(card: 0xff, domain: 0xab), source: s, target: base), [
            "Migration failed: Source and target queue (ff.00ab) not compatible",
            "APSC facility not installed in source queue ff.00ab",
            "APSC facility installed in target queue ff.00ab",
        ])
    }

    // MARK: - wire format

    static let twoQueues: [UInt8] = [
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xFF, 0xFE, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    func testEncodeDecodeRoundTripIsByteExact() throws {
        let stream = APConfigStream(queueCount: 2, entries: [
            .init(hardwareInfo: HardwareInfo(value: 0x0102_0304_0506_0708), apqn: APQN(card: 0xff, domain: 0xfe)),
            .init(hardwareInfo: HardwareInfo(value: 0xFEDC_BA98_7654_3210), apqn: APQN(card: 0, domain: 1)),
        ])
        XCTAssertEqual(stream.encoded(), Self.twoQueues)
        XCTAssertEqual(APConfigStream.decode(Self.twoQueues), stream)
        XCTAssertEqual(APConfigStream.decode(stream.encoded())?.encoded(), Self.twoQueues)
        XCTAssertEqual(APConfigStream.size(queueCount: 2), 40)
        XCTAssertEqual(APConfigStream.size(queueCount: 0), 8)
        XCTAssertEqual(APConfigStream.headerSize, 8)
        XCTAssertEqual(APConfigStream.entrySize, 16)
    }

    func testDecodeNeedsTheWholeStream() {
        XCTAssertNil(APConfigStream.decode(Array(Self.twoQueues.dropLast())))
        XCTAssertNil(APConfigStream.decode([0, 0, 0]))
        XCTAssertNil(APConfigStream.decode([]))
        // The header is 8 bytes, padding included.
        XCTAssertNil(APConfigStream.decode([0, 0, 0, 0]))
        XCTAssertEqual(APConfigStream.decode([0, 0, 0, 0, 0, 0, 0, 0]), APConfigStream(queueCount: 0, entries: []))
        XCTAssertEqual(APConfigStream.queueCount(in: [0x00, 0x00, 0x01, 0x00, 0xff]), 256)
        XCTAssertEqual(APConfigStream.queueCount(in: [0x12, 0x34, 0x56, 0x78]), 0x1234_5678)
        XCTAssertNil(APConfigStream.queueCount(in: [1, 2, 3]))
    }

    /// kzalloc'd entries the walk did not fill stay zero; entries past the
    /// count are not written.
    func testEncodeZeroFillsAndTruncates() {
        let e = APConfigStream.Entry(hardwareInfo: HardwareInfo(value: 0x0102_0304_0506_0708), apqn: APQN(card: 0xff, domain: 0xfe))
        let short = APConfigStream(queueCount: 2, entries: [e]).encoded()
        XCTAssertEqual(short, Array(Self.twoQueues[0..<24]) + [UInt8](repeating: 0, count: 16))
        let long = APConfigStream(queueCount: 1, entries: [e, e, e]).encoded()
        XCTAssertEqual(long, [0, 0, 0, 1, 0, 0, 0, 0] + Array(Self.twoQueues[8..<24]))
    }
}
