import XCTest
final class ExecModelTestsPlaceholder: XCTestCase { func testNothing() {} }
