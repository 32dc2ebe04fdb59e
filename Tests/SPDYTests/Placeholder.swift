import XCTest
final class SPDYTestsPlaceholder: XCTestCase { func testNothing() {} }
