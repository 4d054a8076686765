import APCore
import FuzzSupport
import Sysfs
import SystemPackage

// Every parser of Sysfs/Parsing/KernelParsers.swift on random bytes. The
// first byte picks the parser (and, for `+/-` edits, the mask edited), the
// rest is one write()'s buffer. Besides not crashing: only the parser's
// documented errnos, and what parses formats back to itself.

/// The parsers' errors are the kernel's: EINVAL and ERANGE only.
func expectKernelError(_ error: Error, _ parser: String) {
    guard let e = error as? Errno, e == .invalidArgument || e == .outOfRange else {
        violation("\(parser) threw \(error)")
    }
}

func roundTrip(_ mask: APMask, _ parser: String) {
    let text = Array(KernelFormat.mask(mask).utf8)
    guard (try? KernelParsers.hexBitmap(text)) == mask else { violation("\(parser): \(KernelFormat.mask(mask)) does not parse back") }
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let samples: [(UInt8, String)] = [
        (0, "5\n"), (0, "0x47"), (0, "+0xab\n"), (0, "18446744073709551615"), (1, "on\n"), (1, "N"),
        (2, " -12abc"), (3, "0x1f"), (4, "0x0600000000000000000000000000000000000000000000000000000000000000\n"),
        (5, "+5,-6\n+0x10-0x1f"), (6, "62177883-f1bb-47f0-914d-32a22e3a8804\n"),
        (7, "0x06,0x0800000000000000000000000000000000000000001,0x08\n"), (8, "vfio_ap\n"), (9, "05.0004\n"),
    ]
    for (k, (selector, text)) in samples.enumerated() { SeedCorpus.write("\(k)", [selector] + Array(text.utf8)) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let selector = input.byte()
    let data = input.rest()
    switch selector % 10 {
    case 0:
        do {
            let v = try KernelParsers.kstrtoul(data)
            // Decimal text of the value parses back to it.
            guard (try? KernelParsers.kstrtoul(Array(String(v).utf8))) == v else { violation("kstrtoul \(v)") }
        } catch { expectKernelError(error, "kstrtoul") }
    case 1:
        do { _ = try KernelParsers.kstrtobool(data) } catch { expectKernelError(error, "kstrtobool") }
    case 2:
        if let v = KernelParsers.scanInt(data), KernelParsers.scanInt(Array(String(v).utf8)) != v { violation("scanInt \(v)") }
    case 3:
        _ = KernelParsers.scanInt(data, detectBase: true)
    case 4:
        do { roundTrip(try KernelParsers.hexBitmap(data), "hexBitmap") } catch { expectKernelError(error, "hexBitmap") }
    case 5:
        // `+/-` edits of an empty, a full and a mixed mask.
        let current: [APMask] = [.empty, .allOnes, APMask(ids: [0, 5, 6, 0x47, 0xab, 0xff])]
        for c in current {
            do { roundTrip(try KernelParsers.bitmapEdit(data, current: c), "bitmapEdit") } catch { expectKernelError(error, "bitmapEdit") }
        }
    case 6:
        do {
            let name = try KernelParsers.guid(data)
            guard name.utf8.count == 36, (try? KernelParsers.guid(Array(name.utf8))) == name, name == name.lowercased() else {
                violation("guid \(name)")
            }
        } catch { expectKernelError(error, "guid") }
    case 7:
        do {
            let m = try KernelParsers.apConfig(data)
            let text = [m.adapters, m.domains, m.controlDomains].map(KernelFormat.mask).joined(separator: ",")
            guard (try? KernelParsers.apConfig(Array(text.utf8))) == m else { violation("apConfig \(text)") }
        } catch { expectKernelError(error, "apConfig") }
    case 8:
        do {
            if let name = try KernelParsers.driverOverride(data), name.isEmpty || name.contains("\n") { violation("driverOverride \(name)") }
        } catch { expectKernelError(error, "driverOverride") }
    default:
        _ = KernelParsers.deviceName(data)
        if KernelParsers.cString(data).contains(0) { violation("cString kept a NUL") }
    }
    return 0
}
