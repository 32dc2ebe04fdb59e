import XCTest
@testable import HTTP2

/// RFC 9113 §5.1.1: a HEADERS on a lower id the peer never opened is refused; ids it opened are not.
final class PeerStreamWindowTests: XCTestCase {
    func testSkippedIdsAreClosedAndOpenedOnesStayOpen() {
        var window = PeerStreamWindow()
        XCTAssertTrue(window.open(1))
        XCTAssertTrue(window.open(3))
        XCTAssertTrue(window.open(9))
        XCTAssertEqual(window.highest, 9)
        XCTAssertTrue(window.open(3), "opened: trailers on it are fine")
        XCTAssertTrue(window.open(9))
        XCTAssertFalse(window.open(5), "skipped by 9")
        XCTAssertFalse(window.open(7))
    }

    func testALongRunKeepsTheRecentIdsExactAndForgetsOldOnes() {
        var window = PeerStreamWindow()
        var opened = Set<Int32>()
        var id: Int32 = 1
        while id < 10_001 {
            XCTAssertTrue(window.open(id))
            opened.insert(id)
            id += id % 7 == 0 ? 4 : 2 // now and then an id is skipped
        }
        let highest = window.highest
        var probe = highest
        while probe > highest - PeerStreamWindow.span {
            XCTAssertEqual(window.open(probe), opened.contains(probe), "id \(probe)")
            probe -= 2
        }
        XCTAssertTrue(window.open(highest - PeerStreamWindow.span - 1), "below the window: left to nghttp2")
    }

    func testAJumpBeyondTheWindowForgetsEverything() {
        var window = PeerStreamWindow()
        XCTAssertTrue(window.open(1))
        XCTAssertTrue(window.open(3))
        XCTAssertTrue(window.open(5001))
        XCTAssertFalse(window.open(4999))
        XCTAssertFalse(window.open(4001))
        XCTAssertTrue(window.open(3), "below the window")
    }
}
