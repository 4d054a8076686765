import APCore
import Sysfs
import SystemPackage
import XCTest

func assertErrno<T>(_ expected: Errno, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
                    _ body: () throws -> T) {
    do {
        let v = try body()
        XCTFail("expected \(expected) but got \(v) \(message)", file: file, line: line)
    } catch let e as Errno {
        XCTAssertEqual(e, expected, message, file: file, line: line)
    } catch {
        XCTFail("expected \(expected) but got \(error) \(message)", file: file, line: line)
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// "0x" + 64 hex digits.
func maskText(_ digits: String) -> String {
    precondition(digits.count <= 64)
    return "0x" + digits + String(repeating: "0", count: 64 - digits.count)
}

let allOnesText = "0x" + String(repeating: "f", count: 64)

extension APMask {
    /// All ones except `ids`.
    static func allBut(_ ids: Int...) -> APMask { APMask.allOnes.subtracting(APMask(ids: ids)) }
}
