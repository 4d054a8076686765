import XCTest
final class FuseServerTestsPlaceholder: XCTestCase { func testNothing() {} }
