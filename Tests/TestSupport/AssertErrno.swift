import SystemPackage
import XCTest

/// Asserts that `body` throws exactly the errno `expected`.
public func assertErrno<T>(_ expected: Errno, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
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
