@testable import ExecBridge
import ExecModel
import XCTest

/// The relay's per-read batching of upstream output: bytes and order exactly as received.
final class OutputBatchTests: XCTestCase {
    private func append(_ batch: inout OutputBatch, _ bytes: [UInt8], _ channel: Channel) {
        bytes.withUnsafeBytes { batch.append($0, on: channel) }
    }

    func testFragmentsOfOneChannelBecomeOneBatch() {
        var batch = OutputBatch(limit: 64)
        for piece in [[1, 2, 3], [4, 5], [6]] as [[UInt8]] {
            XCTAssertTrue(batch.accepts(piece.count, on: .stdout))
            append(&batch, piece, .stdout)
        }
        let held = batch.take()
        XCTAssertEqual(held?.channel, .stdout)
        XCTAssertEqual(held?.bytes, [1, 2, 3, 4, 5, 6])
        XCTAssertTrue(batch.isEmpty)
        XCTAssertNil(batch.take())
    }

    func testAnotherChannelOrTheLimitAsksForTheBatchToBeTakenFirst() {
        var batch = OutputBatch(limit: 8)
        append(&batch, Array(0..<6), .stdout)
        XCTAssertFalse(batch.accepts(1, on: .stderr))
        XCTAssertFalse(batch.accepts(3, on: .stdout))
        XCTAssertTrue(batch.accepts(2, on: .stdout))
        XCTAssertEqual(batch.take()?.bytes, Array(0..<6))
        XCTAssertTrue(batch.accepts(8, on: .stderr))
    }

    func testStorageIsReusedAfterRecycleAndFreedOnRelease() {
        var batch = OutputBatch(limit: 1024)
        append(&batch, [1], .stdout)
        let first = batch.take()!
        batch.recycle(first.bytes)
        append(&batch, [2, 3], .stderr)
        let second = batch.take()!
        XCTAssertEqual(second.channel, .stderr)
        XCTAssertEqual(second.bytes, [2, 3])
        XCTAssertGreaterThanOrEqual(second.bytes.capacity, 1024)
        batch.release()
        XCTAssertTrue(batch.isEmpty)
    }
}
