@testable import ExecBridge
import ExecModel
import XCTest

/// The main process's output ring: bounded, oldest bytes first to go, channels kept in order.
final class OutputRingTests: XCTestCase {
    private func append(_ ring: inout OutputRing, _ channel: Channel, _ text: String) {
        Array(text.utf8).withUnsafeBytes { ring.append(channel, $0) }
    }

    private func dump(_ ring: OutputRing) -> [String] {
        ring.contents.map { "\($0.channel == .stdout ? "o" : "e"):\(String(decoding: $0.bytes, as: UTF8.self))" }
    }

    func testKeepsTheNewestBytesPerChannelInOrder() {
        var ring = OutputRing(capacity: 8)
        append(&ring, .stdout, "abc")
        append(&ring, .stdout, "de")
        append(&ring, .stderr, "XY")
        XCTAssertEqual(dump(ring), ["o:abcde", "e:XY"])
        append(&ring, .stdout, "fgh")
        XCTAssertEqual(dump(ring), ["o:cde", "e:XY", "o:fgh"])
        XCTAssertEqual(ring.count, 8)
        append(&ring, .stderr, "123456")
        XCTAssertEqual(dump(ring), ["o:gh", "e:123456"])
    }

    func testAWriteLargerThanTheRingKeepsItsTail() {
        var ring = OutputRing(capacity: 4)
        append(&ring, .stdout, "0123456789")
        XCTAssertEqual(dump(ring), ["o:6789"])
        ring.removeAll()
        XCTAssertEqual(ring.count, 0)
        XCTAssertEqual(dump(ring), [])
    }

    func testManySmallWritesStayBounded() {
        var ring = OutputRing()
        for i in 0..<100_000 { append(&ring, i % 3 == 0 ? .stderr : .stdout, "\(i % 10)") }
        XCTAssertEqual(ring.count, OutputRing.defaultCapacity)
        XCTAssertEqual(ring.contents.reduce(0) { $0 + $1.bytes.count }, OutputRing.defaultCapacity)
        // The last byte written is the last byte kept.
        XCTAssertEqual(ring.contents.last?.bytes.last, UInt8(ascii: "9"))
    }
}
