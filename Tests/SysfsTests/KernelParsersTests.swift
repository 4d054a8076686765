import APCore
import Sysfs
import SystemPackage
import TestSupport
import XCTest

/// kernel-sysfs.md §8: every example, accepted and rejected.
final class KernelParsersTests: XCTestCase {
    // MARK: - §8.1 kstrtoul

    func testKstrtoulAccepts() throws {
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("5")), 5)
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("5\n")), 5)
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("0x5")), 5)
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("0X5")), 5)
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("+5")), 5)
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("05")), 5)
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("010")), 8, "leading 0 is octal")
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("0")), 0)
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("0xab\n")), 0xab)
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("0xFF")), 255)
        XCTAssertEqual(try KernelParsers.kstrtoul(bytes("18446744073709551615")), UInt64.max)
        // The buffer is a C string: what follows a NUL is not seen.
        XCTAssertEqual(try KernelParsers.kstrtoul([0x35, 0x0a, 0x00, 0x41]), 5)
    }

    func testKstrtoulRejects() {
        for s in ["08", " 5", "5 ", "0x", "-1", "5\n\n", "", "\n", "+", "++5", "x5", "5x", "0x5g", "0b1", "\n5", "0x\n"] {
            assertErrno(.invalidArgument, "'\(s)'") { try KernelParsers.kstrtoul(bytes(s)) }
        }
        assertErrno(.outOfRange, "2^64") { try KernelParsers.kstrtoul(bytes("18446744073709551616")) }
        assertErrno(.outOfRange, "2^64 hex") { try KernelParsers.kstrtoul(bytes("0x10000000000000000")) }
        assertErrno(.outOfRange, "huge with newline") { try KernelParsers.kstrtoul(bytes("99999999999999999999\n")) }
    }

    // MARK: - §8.5 kstrtobool

    func testKstrtobool() throws {
        for s in ["y", "Y", "t", "T", "1", "yes", "true\n", "on", "ON", "oN", "1abc"] {
            XCTAssertTrue(try KernelParsers.kstrtobool(bytes(s)), s)
        }
        for s in ["n", "N", "f", "F", "0", "no", "false\n", "off", "OFF", "oF", "0\n"] {
            XCTAssertFalse(try KernelParsers.kstrtobool(bytes(s)), s)
        }
        for s in ["", "\n", "o", "ox", " 1", "2", "-1", "x"] {
            assertErrno(.invalidArgument, "'\(s)'") { try KernelParsers.kstrtobool(bytes(s)) }
        }
    }

    // MARK: - §8.2 sscanf %d / %i

    func testScanIntDecimal() {
        XCTAssertEqual(KernelParsers.scanInt(bytes("1")), 1)
        XCTAssertEqual(KernelParsers.scanInt(bytes("1\n")), 1)
        XCTAssertEqual(KernelParsers.scanInt(bytes("   7")), 7, "leading white space skipped")
        XCTAssertEqual(KernelParsers.scanInt(bytes("\t\n 12")), 12)
        XCTAssertEqual(KernelParsers.scanInt(bytes("1abc")), 1, "trailing text ignored")
        XCTAssertEqual(KernelParsers.scanInt(bytes("-3")), -3)
        XCTAssertEqual(KernelParsers.scanInt(bytes("0x10")), 0, "%d stops at the x")
        XCTAssertEqual(KernelParsers.scanInt(bytes("010")), 10, "%d is decimal")
        XCTAssertEqual(KernelParsers.scanInt(bytes("4294967297")), 1, "truncated to int")
        XCTAssertNil(KernelParsers.scanInt(bytes("+5")), "the kernel's vsscanf takes no '+'")
        XCTAssertNil(KernelParsers.scanInt(bytes("")))
        XCTAssertNil(KernelParsers.scanInt(bytes("\n")))
        XCTAssertNil(KernelParsers.scanInt(bytes("abc")))
        XCTAssertNil(KernelParsers.scanInt(bytes("-")))
        XCTAssertNil(KernelParsers.scanInt(bytes("- 3")))
    }

    func testScanIntDetectBase() {
        XCTAssertEqual(KernelParsers.scanInt(bytes("0x47"), detectBase: true), 0x47)
        XCTAssertEqual(KernelParsers.scanInt(bytes("0X47\n"), detectBase: true), 0x47)
        XCTAssertEqual(KernelParsers.scanInt(bytes("010"), detectBase: true), 8)
        XCTAssertEqual(KernelParsers.scanInt(bytes("08"), detectBase: true), 0, "octal stops at 8")
        XCTAssertEqual(KernelParsers.scanInt(bytes("0x"), detectBase: true), 0, "0 then garbage")
        XCTAssertEqual(KernelParsers.scanInt(bytes(" 12"), detectBase: true), 12)
        XCTAssertEqual(KernelParsers.scanInt(bytes("-0x10"), detectBase: true), -16)
        XCTAssertNil(KernelParsers.scanInt(bytes("x10"), detectBase: true))
        XCTAssertNil(KernelParsers.scanInt(bytes("+1"), detectBase: true))
    }

    // MARK: - §8.3 hex2bitmap

    func testHexBitmapAccepts() throws {
        let m41 = APMask(ids: [1, 7])
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("0x41")), m41)
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("x41")), m41)
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("41")), m41)
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("0x41\n")), m41)
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("0xAb")), APMask(ids: [0, 2, 4, 6, 7]))
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("")), APMask())
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("\n")), APMask())
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("0x")), APMask())
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes(String(repeating: "f", count: 64))), .allOnes)
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("0x" + String(repeating: "f", count: 64) + "\n")), .allOnes)
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("0x" + String(repeating: "0", count: 63) + "1")), APMask(ids: [255]))
    }

    func testHexBitmapRejects() {
        for s in [String(repeating: "f", count: 65), "0x" + String(repeating: "0", count: 65),
                  "0X41", " 41", "41 ", "0x 41", "0x41\n\n", "xx41", "0xx41", "4g", "-41", "+41", "41,"] {
            assertErrno(.invalidArgument, "'\(s)'") { try KernelParsers.hexBitmap(bytes(s)) }
        }
    }

    // MARK: - §8.4 ap_parse_bitmap_str

    func testBitmapEditRelative() throws {
        let none = APMask()
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+0"), current: none), APMask(ids: [0]))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("-13"), current: .allOnes), .allBut(13))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+0x41"), current: none), APMask(ids: [65]))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("-0xff"), current: .allOnes), .allBut(255))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+0,-6,+0x47,-0xf0"), current: APMask(ids: [6, 0xf0, 9])),
                       APMask(ids: [0, 0x47, 9]))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+0-15,+32,-128,-0xFF"), current: APMask(ids: [128, 255, 200])),
                       APMask(ids: Array(0...15) + [32, 200]))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+1,+2,+3,+4,-5,-7-10"), current: APMask(ids: 5...12)),
                       APMask(ids: [1, 2, 3, 4, 6, 11, 12]))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("-0-255"), current: .allOnes), APMask())
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+0-255\n"), current: none), .allOnes)
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+010"), current: none), APMask(ids: [8]), "octal")
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+4-4"), current: none), APMask(ids: [4]))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+1,,\n,+2\n"), current: none), APMask(ids: [1, 2]),
                       "runs of ',' and '\\n' separate terms")
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+5-6,-5"), current: none), APMask(ids: [6]),
                       "later terms override earlier ones")
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("+0x1-0x3"), current: none), APMask(ids: [1, 2, 3]))
    }

    func testBitmapEditAbsolute() throws {
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("0x41"), current: .allOnes), APMask(ids: [1, 7]))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("\n"), current: .allOnes), APMask(), "echo > apmask clears")
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes(""), current: .allOnes), APMask())
    }

    func testBitmapEditRejects() {
        let cases = ["-0-255,+1-16,+0x128", "+256", "+0x100", "+5-3", "+0-256", "+5,*6", "+5 ,+6", "+ 5", "+5, +6",
                     " +5", "+", "-", "+5-", "+-5", "+5,6", "+5;+6", "+0x", "+5-0x"]
        for s in cases {
            assertErrno(.invalidArgument, "'\(s)'") { try KernelParsers.bitmapEdit(bytes(s), current: .allOnes) }
        }
    }

    /// Documentation/arch/s390/vfio-ap.rst mask examples.
    func testVfioApDocumentationMaskExamples() throws {
        let apmask = try KernelParsers.bitmapEdit(bytes("-5,-6\n"), current: .allOnes)
        XCTAssertEqual(KernelFormat.mask(apmask), "0xf9" + String(repeating: "f", count: 62))
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes("0xf9" + String(repeating: "f", count: 62) + "\n"), current: .allOnes),
                       apmask, "the absolute form gives the same mask")

        let aqmask = try KernelParsers.bitmapEdit(bytes("-4,-0x47,-0xab,-0xff\n"), current: .allOnes)
        let expected = "0xf7fffffffffffffffeffffffffffffffffffffffffeffffffffffffffffffffe"
        XCTAssertEqual(KernelFormat.mask(aqmask), expected)
        XCTAssertEqual(try KernelParsers.bitmapEdit(bytes(expected + "\n"), current: .allOnes), aqmask)

        XCTAssertEqual(KernelFormat.mask(try KernelParsers.bitmapEdit(bytes("0x41"), current: .allOnes)), maskText("41"))
        XCTAssertEqual(KernelFormat.mask(try KernelParsers.hexBitmap(bytes("0x7d"))), maskText("7d"))
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("0x7d")), APMask(ids: [1, 2, 3, 4, 5, 7]))
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("0xffff")), APMask(ids: 0...15), "ap.apmask=0xffff")
        XCTAssertEqual(try KernelParsers.hexBitmap(bytes("0x40")), APMask(ids: [1]), "ap.aqmask=0x40")
    }

    // MARK: - §8.6 guid_parse

    func testGuid() throws {
        XCTAssertEqual(try KernelParsers.guid(bytes("62177883-f1bb-47f0-914d-32a22e3a8804")), "62177883-f1bb-47f0-914d-32a22e3a8804")
        XCTAssertEqual(try KernelParsers.guid(bytes("62177883-F1BB-47F0-914D-32A22E3A8804\n")), "62177883-f1bb-47f0-914d-32a22e3a8804",
                       "either case; printed lower case; the 37th byte is not checked")
        for s in ["62177883-f1bb-47f0-914d-32a22e3a880", "62177883f1bb-47f0-914d-32a22e3a88041",
                  "62177883-f1bb-47f0-914d_32a22e3a8804", "6217788g-f1bb-47f0-914d-32a22e3a8804",
                  "{2177883-f1bb-47f0-914d-32a22e3a8804", "", " 62177883-f1bb-47f0-914d-32a22e3a880"] {
            assertErrno(.invalidArgument, "'\(s)'") { try KernelParsers.guid(bytes(s)) }
        }
    }

    // MARK: - §4 ap_config

    func testAPConfigDocumentationExample() throws {
        let text = maskText("06") + "," + maskText("08000000000000000000000000000000000000000010") + "," + maskText("08") + "\n"
        XCTAssertEqual(text.utf8.count, 201)
        let m = try KernelParsers.apConfig(bytes(text))
        XCTAssertEqual(m.adapters, APMask(ids: [5, 6]))
        XCTAssertEqual(m.domains, APMask(ids: [4, 0xab]))
        XCTAssertEqual(m.controlDomains, APMask(ids: [4]))
    }

    func testAPConfigTokens() throws {
        let valid = try KernelParsers.apConfig(bytes("0x4,0x8,\n"))
        XCTAssertEqual(valid.adapters, APMask(ids: [1]))
        XCTAssertEqual(valid.domains, APMask(ids: [0]))
        XCTAssertEqual(valid.controlDomains, APMask())
        // strsep on ",\n": "a,b\n" leaves an empty third token.
        let twoAndNewline = try KernelParsers.apConfig(bytes("4,8\n"))
        XCTAssertEqual(twoAndNewline.adapters, APMask(ids: [1]))
        XCTAssertEqual(twoAndNewline.domains, APMask(ids: [0]))
        XCTAssertEqual(twoAndNewline.controlDomains, APMask())
        let empty = try KernelParsers.apConfig(bytes(",,"))
        XCTAssertEqual(empty, APMatrix(), "empty tokens are empty masks")
        XCTAssertEqual(try KernelParsers.apConfig(bytes(",,\n")), APMatrix())
        let extra = try KernelParsers.apConfig(bytes("8,4,2,garbage"))
        XCTAssertEqual(extra, APMatrix(adapters: APMask(ids: [0]), domains: APMask(ids: [1]), controlDomains: APMask(ids: [2])),
                       "tokens after the third are ignored")
        XCTAssertEqual(try KernelParsers.apConfig(bytes("x8,0x4,2")).adapters, APMask(ids: [0]))
    }

    func testAPConfigRejects() {
        for s in ["", "\n", "0x1", "0x1,0x2", "0x1\n0x2", "0x1,0x2,0xg", "0X1,0x2,0x3", "0x1 ,0x2,0x3",
                  String(repeating: "f", count: 65) + ",,", ",," + "0x" + String(repeating: "f", count: 65)] {
            assertErrno(.invalidArgument, "'\(s)'") { try KernelParsers.apConfig(bytes(s)) }
        }
    }

    func testAPConfigTruncatesAt201Bytes() throws {
        // 201 bytes of a valid configuration followed by garbage: the garbage is cut off.
        let full = allOnesText + "," + allOnesText + "," + allOnesText
        XCTAssertEqual(full.utf8.count, 200)
        let m = try KernelParsers.apConfig(bytes(full + "\n" + "zzzz"))
        XCTAssertEqual(m, APMatrix(adapters: .allOnes, domains: .allOnes, controlDomains: .allOnes))
        // Byte 201 is the first one dropped: anything from there on is not seen.
        XCTAssertEqual(try KernelParsers.apConfig(bytes(full + ",zzzz")), APMatrix(adapters: .allOnes, domains: .allOnes, controlDomains: .allOnes))
        assertErrno(.invalidArgument, "byte 200 is still read") { try KernelParsers.apConfig(bytes(full + "z")) }
        assertErrno(.invalidArgument, "65th digit") { try KernelParsers.apConfig(bytes(full + "f")) }
    }

    // MARK: - driver_override

    func testDriverOverride() throws {
        XCTAssertEqual(try KernelParsers.driverOverride(bytes("vfio_ap\n")), "vfio_ap")
        XCTAssertEqual(try KernelParsers.driverOverride(bytes("vfio_ap")), "vfio_ap")
        XCTAssertEqual(try KernelParsers.driverOverride(bytes("cex4queue\nrest")), "cex4queue", "cut at the first newline")
        XCTAssertNil(try KernelParsers.driverOverride(bytes("")))
        XCTAssertNil(try KernelParsers.driverOverride(bytes("\n")))
        XCTAssertNil(try KernelParsers.driverOverride(bytes("\nvfio_ap")), "a leading newline clears")
        XCTAssertNil(try KernelParsers.driverOverride([0, 0x41]), "a C string: empty")
        XCTAssertEqual(try KernelParsers.driverOverride(bytes(String(repeating: "a", count: 4094))), String(repeating: "a", count: 4094))
        assertErrno(.invalidArgument, "PAGE_SIZE - 1") { try KernelParsers.driverOverride(bytes(String(repeating: "a", count: 4095))) }
        assertErrno(.invalidArgument, "the write's count counts, NULs included") {
            try KernelParsers.driverOverride(bytes("vfio_ap") + [UInt8](repeating: 0, count: 4088))
        }
        XCTAssertEqual(try KernelParsers.driverOverride(bytes("vfio_ap") + [UInt8](repeating: 0, count: 4087)), "vfio_ap")
    }

    func testDeviceName() {
        XCTAssertEqual(KernelParsers.deviceName(bytes("05.0004\n")), "05.0004")
        XCTAssertEqual(KernelParsers.deviceName(bytes("card05")), "card05")
        XCTAssertEqual(KernelParsers.deviceName(bytes("card05\n\n")), "card05\n")
    }
}
