import XCTest
final class MigrationEndToEndPlaceholder: XCTestCase { func testPlaceholder() {} }
