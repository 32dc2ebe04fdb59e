@testable import ExecBridge
import XCTest

/// Each transcript in `Compat/transcripts/` (captured from kubectl, the Go spdystream client and
/// the Python h2 client) is replayed against an in-process gateway: its client frames are sent,
/// and what the gateway answers must match the recording per stream (DATA joined, PING and
/// WINDOW_UPDATE left out, no timing). The gateway's own `--trace-frames` output of the replay is
/// checked the same way.
final class TranscriptReplayTests: XCTestCase {
    func testEveryTranscriptReplays() throws {
        let paths = try TranscriptFile.all()
        XCTAssertGreaterThanOrEqual(paths.count, 5, "the transcripts are missing")
        for path in paths {
            let file = try TranscriptFile(path: path)
            XCTAssertEqual(file.connections.count, 1, file.name)
            for connection in file.connections {
                try replay(connection, name: file.name)
            }
        }
    }

    private func replay(_ connection: TranscriptFile.Connection, name: String) throws {
        let tracePath = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(getpid())-\(name)").path
        defer { unlink(tracePath) }
        var harness: GatewayHarness? = try GatewayHarness(configure: { try? $0.traceFrames(to: tracePath) })
        let got: [TraceRecord]
        do {
            got = try TranscriptReplay(connection, port: harness!.port).run()
        } catch {
            XCTFail("\(name): \(error)")
            return
        }
        let want = TranscriptNormalizer.serverView(connection.records)
        XCTAssertEqual(TranscriptNormalizer.serverView(got), want, "\(name): the gateway's answers differ")
        harness = nil // stops the gateway: every connection's trace is written
        let traced = try TranscriptFile(path: tracePath)
        XCTAssertEqual(traced.connections.count, 1, "\(name): traced connections")
        if let mine = traced.connections.first {
            XCTAssertEqual(TranscriptNormalizer.serverView(mine.records), want, "\(name): the gateway's own trace differs")
            let clientSide = mine.records.filter { $0.direction == .toServer && $0.type != "UPGRADE" }
            let recorded = connection.records.filter { $0.direction == .toServer && $0.type != "UPGRADE" }
            XCTAssertEqual(clientSide.map(\.type), recorded.map(\.type), "\(name): the tracer decoded the replayed client frames")
        }
    }
}
