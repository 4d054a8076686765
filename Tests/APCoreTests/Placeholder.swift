import XCTest
final class APCoreTestsPlaceholder: XCTestCase { func testNothing() {} }
