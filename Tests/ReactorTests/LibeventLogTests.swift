@testable import Reactor
import Synchronization
import XCTest

final class LibeventLogTests: XCTestCase {
    /// A flood of libevent messages reaches the handler at most `burst` a second, then a count of the rest.
    func testMessagesAreRateLimited() {
        let seen = Mutex<[String]>([])
        LibeventLog.route { _, message in seen.withLock { $0.append(message) } }
        for i in 0..<1000 { LibeventLog.log(2, "Error from accept() call: Too many open files \(i)") }
        XCTAssertLessThanOrEqual(seen.withLock { $0.count }, LibeventLog.burst)
        let start = EventLoop.now()
        while EventLoop.now() - start < 1.05 { usleep(50_000) }
        LibeventLog.log(2, "later")
        let messages = seen.withLock { $0 }
        XCTAssertTrue(messages.contains { $0.contains("messages dropped") }, "\(messages.suffix(3))")
        XCTAssertEqual(messages.last, "libevent: later")
    }
}
