import APCore
import TestSupport
import XCTest

final class APMaskTests: XCTestCase {
    func testMSBFirstBitOrder() {
        // ID n is bit 1 << (63 - n % 64) of word n / 64 (set_bit_inv).
        XCTAssertEqual(APMask(ids: [0]).words, [0x8000_0000_0000_0000, 0, 0, 0])
        XCTAssertEqual(APMask(ids: [5, 6]).words, [0x0600_0000_0000_0000, 0, 0, 0])
        XCTAssertEqual(APMask(ids: [63]).words, [1, 0, 0, 0])
        XCTAssertEqual(APMask(ids: [64]).words, [0, 0x8000_0000_0000_0000, 0, 0])
        XCTAssertEqual(APMask(ids: [0xab]).words, [0, 0, 0x0000_0000_0010_0000, 0])
        XCTAssertEqual(APMask(ids: [255]).words, [0, 0, 0, 1])
    }

    func testFormatting() {
        XCTAssertEqual(KernelFormat.mask(APMask()), "0x" + String(repeating: "0", count: 64))
        XCTAssertEqual(KernelFormat.mask(.allOnes), "0x" + String(repeating: "f", count: 64))
        XCTAssertEqual(KernelFormat.mask(APMask(ids: [1, 7])), "0x41" + String(repeating: "0", count: 62))
        XCTAssertEqual(KernelFormat.mask(APMask(ids: [4, 0x47, 0xab, 0xff])),
                       "0x0800000000000000" + "0100000000000000" + "0000000000100000" + "0000000000000001")
        XCTAssertEqual(KernelFormat.mask(.allBut(5, 6)), "0xf9" + String(repeating: "f", count: 62))
        XCTAssertEqual(KernelFormat.mask(.allOnes).count, 66)
        XCTAssertEqual(KernelFormat.qciMask(APMask(ids: [5, 6])), KernelFormat.mask(APMask(ids: [5, 6])))
    }

    func testIdsAndQueries() {
        var m = APMask(ids: [200, 3, 64, 63, 3])
        XCTAssertEqual(m.ids, [3, 63, 64, 200])
        XCTAssertEqual(m.count, 4)
        XCTAssertEqual(m.highestID, 200)
        XCTAssertTrue(m.contains(63))
        XCTAssertFalse(m.contains(62))
        XCTAssertFalse(m.contains(-1))
        XCTAssertFalse(m.contains(256))
        m.remove(63)
        m.insert(255)
        XCTAssertEqual(m.ids, [3, 64, 200, 255])
        XCTAssertEqual(APMask.allOnes.ids, Array(0..<256))
        XCTAssertEqual(APMask.allOnes.count, 256)
        XCTAssertTrue(APMask().isEmpty)
        XCTAssertNil(APMask().highestID)
        XCTAssertEqual(APMask.firstIDs(3), APMask(ids: [0, 1, 2]))
        XCTAssertEqual(APMask.firstIDs(300), .allOnes)
    }

    func testSetOperations() {
        let a = APMask(ids: [1, 2, 3, 100])
        let b = APMask(ids: [3, 4, 100, 255])
        XCTAssertEqual(a.intersection(b), APMask(ids: [3, 100]))
        XCTAssertEqual(a.union(b), APMask(ids: [1, 2, 3, 4, 100, 255]))
        XCTAssertEqual(a.subtracting(b), APMask(ids: [1, 2]))
        XCTAssertTrue(a.intersects(b))
        XCTAssertFalse(APMask(ids: [1]).intersects(APMask(ids: [2])))
        XCTAssertEqual(APMask.allOnes.subtracting(APMask(ids: [5])).count, 255)
    }

    func testHexDigitsInit() {
        XCTAssertEqual(APMask(hexDigits: "41"), APMask(ids: [1, 7]))
        XCTAssertEqual(APMask(hexDigits: ""), APMask())
        XCTAssertNil(APMask(hexDigits: String(repeating: "f", count: 65)))
        XCTAssertNil(APMask(hexDigits: "4g"))
    }
}

final class HardwareInfoTests: XCTestCase {
    /// A CEX8 CCA queue, hand-assembled from kernel-sysfs.md §5.1:
    /// fac 0xF2 (APSC, AP4KM, AP4KC, CCA, APXA), class 0x80, bs 2
    /// (available for binding) → upper word 0xF2808000; at 0x0E, nd 0xFF,
    /// reserved bits 48-51 all ones, ml 3, reserved 56-59 all ones, qd 7
    /// → lower word 0x0EFFF3F7.
    let cex8cca = HardwareInfo(value: 0xF280_8000_0EFF_F3F7)

    func testFieldExtraction() {
        let h = cex8cca
        XCTAssertEqual(h.facilities, 0xF280_8000)
        XCTAssertTrue(h.apsc)
        XCTAssertTrue(h.mex4k)
        XCTAssertTrue(h.crt4k)
        XCTAssertTrue(h.cca)
        XCTAssertFalse(h.accel)
        XCTAssertFalse(h.ep11)
        XCTAssertTrue(h.apxa)
        XCTAssertFalse(h.slcf)
        XCTAssertEqual(h.classification, 0x80)
        XCTAssertEqual(h.bindState, 2)
        XCTAssertEqual(h.apType, 14)
        XCTAssertEqual(h.domainCount, 255)
        XCTAssertEqual(h.messageLengthUnits, 3)
        XCTAssertEqual(h.queueDepth, 7)
        XCTAssertEqual(h.maxMessageSize, 3 * 4096)
        XCTAssertEqual(h.mode, .cca)
    }

    func testCardCopyMask() {
        XCTAssertEqual(HardwareInfo.cardMask, 0xFFFF_0000_FFFF_0F0F)
        let card = cex8cca.cardCopy
        XCTAssertEqual(card.value, 0xF280_0000_0EFF_0307, "BS bits and reserved nibbles dropped")
        XCTAssertEqual(card.bindState, 0)
        XCTAssertEqual(card.facilities, 0xF280_0000)
        XCTAssertEqual(KernelFormat.functions(card.facilities), "0xF2800000")
        XCTAssertEqual(KernelFormat.functions(cex8cca.facilities), "0xF2808000", "the queue shows the live BS bits")
        XCTAssertEqual(card.apType, 14)
        XCTAssertEqual(card.queueDepth, 7)
        XCTAssertEqual(card.messageLengthUnits, 3)
    }

    func testOtherFlagsAndSetters() {
        var h = HardwareInfo(value: 0)
        XCTAssertNil(h.mode)
        XCTAssertEqual(h.maxMessageSize, 12 * 1024, "ml 0: AP_DEFAULT_MAX_MSG_SIZE")
        h.accel = true
        h.cca = true
        XCTAssertEqual(h.mode, .accelerator, "accelerator wins over CCA")
        h.accel = false
        h.cca = false
        h.ep11 = true
        XCTAssertEqual(h.mode, .ep11)
        XCTAssertEqual(h.value, 0x0400_0000_0000_0000)
        h.slcf = true
        XCTAssertEqual(h.value >> 32, 0x0500_0000)
        h.apType = 0x0D
        h.queueDepth = 0xF
        h.bindState = 3
        h.classification = HardwareInfo.classStatelessOnly
        XCTAssertEqual(h.value, 0x0540_C000_0D00_000F)
        h.queueDepth = 0x1F
        XCTAssertEqual(h.queueDepth, 0xF, "a field setter masks to its width")
        XCTAssertEqual(h.apType, 0x0D)
    }

    func testDeviceTypes() {
        XCTAssertEqual(APDeviceType.compatible(rawType: 9, qact: true), 0)
        XCTAssertEqual(APDeviceType.compatible(rawType: 10, qact: false), 10)
        XCTAssertEqual(APDeviceType.compatible(rawType: 14, qact: false), 14)
        XCTAssertEqual(APDeviceType.compatible(rawType: 15, qact: true), 14)
        XCTAssertEqual(APDeviceType.compatible(rawType: 15, qact: false), 0)
        XCTAssertEqual(APDeviceType.generation(11), 5)
        XCTAssertEqual(APDeviceType.generation(14), 8)
        XCTAssertEqual(APMode.accelerator.typeSuffix, "A")
        XCTAssertEqual(APMode.cca.typeSuffix, "C")
        XCTAssertEqual(APMode.ep11.typeSuffix, "P")
        XCTAssertEqual(APMode.accelerator.ueventName, "accel")
    }
}

final class KernelFormatTests: XCTestCase {
    func testFormats() {
        XCTAssertEqual(KernelFormat.apqn(APQN(card: 5, domain: 4)), "05.0004")
        XCTAssertEqual(KernelFormat.apqn(APQN(card: 0xff, domain: 0xab)), "ff.00ab")
        XCTAssertEqual(APQN(card: 0x0a, domain: 0x47).description, "0a.0047")
        XCTAssertEqual(KernelFormat.cardName(0x0a), "card0a")
        XCTAssertEqual(KernelFormat.cardName(0xff), "cardff")
        XCTAssertEqual(KernelFormat.functions(0x9280_0000), "0x92800000")
        XCTAssertEqual(KernelFormat.functions(0), "0x00000000")
        XCTAssertEqual(KernelFormat.hwinfo(0xf2), "0x00000000000000f2")
        XCTAssertEqual(KernelFormat.modalias(deviceType: 14), "ap:t0E")
        XCTAssertEqual(KernelFormat.modalias(deviceType: 10), "ap:t0A")
        XCTAssertEqual(KernelFormat.domain(0xab), "00ab")
        XCTAssertEqual(KernelFormat.adapter(5), "05")
        XCTAssertEqual(KernelFormat.hex(0xabc, width: 2), "abc")
        XCTAssertEqual(KernelFormat.upperHex(14, width: 4), "000E")
    }

    func testAPQN() {
        let q = APQN(card: 5, domain: 0x47)
        XCTAssertEqual(q.rawValue, 0x0547)
        XCTAssertEqual(APQN(rawValue: 0x0547), q)
        XCTAssertLessThan(APQN(card: 5, domain: 0xff), APQN(card: 6, domain: 0))
    }

    func testKernelLogRendering() {
        var log = KernelLog()
        log.append("hello", level: .warning, at: 12_345_678_901)
        log.append("x", level: .info, at: 123_456_789_012_345)
        XCTAssertEqual(KernelLog.render(log.entries[0]), "[   12.345678] hello")
        XCTAssertEqual(KernelLog.render(log.entries[1]), "[123456.789012] x")
        XCTAssertEqual(KernelLog.deviceLine(driver: "vfio_ap_mdev", device: "u", "m"), "vfio_ap_mdev u: m")
    }
}
