import XCTest
final class ExecBridgeTestsPlaceholder: XCTestCase { func testNothing() {} }
