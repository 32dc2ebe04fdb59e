import XCTest
final class ReactorTestsPlaceholder: XCTestCase { func testNothing() {} }
