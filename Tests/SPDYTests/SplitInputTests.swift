import XCTest
@testable import SPDY

final class SplitInputTests: XCTestCase {
    /// Every frame kind back to back, header blocks on one compression stream, DATA with payload.
    private func wire() throws -> [UInt8] {
        let e = SPDYFrameEncoder()
        var w = Vectors.synStream1Error + Vectors.synStream3Stdout
        try e.encode(.settings([.initialWindowSize(4096)]), into: &w)
        w += Raw.data(1, Array("stdout bytes".utf8))
        w += Vectors.dataFin1
        w += Raw.data(3, Array(repeating: 0xab, count: 300), fin: true)
        w += Vectors.rstCancel1 + Vectors.ping1 + Vectors.goAway0OK + Vectors.windowUpdate0
        return w
    }

    func testFramesAndHeaderBlocksSplitAtEveryByteBoundary() throws {
        let w = try wire()
        let whole = decodeAll(w)
        XCTAssertEqual(whole.count, 15)
        XCTAssertEqual(whole.first, .control(.synStream(streamID: 1, headers: ["streamtype": "error"])))
        for cut in 0...w.count {
            let reader = FrameReader()
            let events = reader.read(Array(w[..<cut])) + reader.read(Array(w[cut...]))
            XCTAssertEqual(merged(events), whole, "split at \(cut)")
        }
    }

    func testThreeWaySplitsAndByteAtATime() throws {
        let w = try wire()
        let whole = decodeAll(w)
        for a in stride(from: 0, through: w.count, by: 7) {
            for b in stride(from: a, through: w.count, by: 11) {
                let reader = FrameReader()
                let events = reader.read(Array(w[..<a])) + reader.read(Array(w[a..<b])) + reader.read(Array(w[b...]))
                XCTAssertEqual(merged(events), whole, "split at \(a), \(b)")
            }
        }
        let reader = FrameReader()
        var events: [FrameRecorder.Event] = []
        for byte in w { events += reader.read([byte]) }
        XCTAssertEqual(merged(events), whole)
    }

    func testDataPayloadArrivesAsBorrowedChunksAsItComes() throws {
        let frame = Raw.data(1, Array(repeating: 7, count: 10))
        let reader = FrameReader()
        XCTAssertEqual(reader.read(Array(frame[..<12])), [.begin(1, 10, false), .data(1, [7, 7, 7, 7])])
        XCTAssertEqual(reader.read(Array(frame[12...])), [.data(1, Array(repeating: 7, count: 6)), .end(1, false)])
    }

    func testSessionSplitAtEveryByteBoundary() throws {
        // Real spdystream header blocks, then DATA and a client ping.
        let w = Vectors.synStream1Error + Vectors.synStream3Stdout + Raw.data(3, Array("input".utf8), fin: true)
            + Vectors.ping1
        var expected: [SessionRecorder.Event]?
        for cut in 0...w.count {
            let h = SessionHarness(role: .server)
            h.receive(raw: Array(w[..<cut]))
            h.receive(raw: Array(w[cut...]))
            let events = h.events()
            if let expected { XCTAssertEqual(events, expected, "split at \(cut)") } else { expected = events }
            XCTAssertEqual(h.recorder.out, Vectors.ping1, "split at \(cut)")
        }
        XCTAssertEqual(expected, [
            .open(1, ["streamtype": "error"], false), .open(3, ["streamtype": "stdout"], false),
            .data(3, Array("input".utf8)), .fin(3),
        ])
    }

    private func merged(_ events: [FrameRecorder.Event]) -> [FrameRecorder.Event] {
        var out: [FrameRecorder.Event] = []
        for e in events {
            if case .data(let id, let more) = e, case .data(let prevID, let prev)? = out.last, prevID == id {
                out[out.count - 1] = .data(id, prev + more)
            } else {
                out.append(e)
            }
        }
        return out
    }
}
