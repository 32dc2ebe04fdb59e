@testable import ExecBridge
import Foundation
import Glibc
import XCTest

/// Issue 13, item 5 (last bullet): a single-stream session that ends while the request body is
/// still open. The rest of the body is taken and dropped and the status trailers wait for the
/// request's end, so curl 7.88 (which fails a stream it could not finish sending, and drops a
/// response that ended first) keeps them; a client still sending when the connection's linger is
/// over gets the trailers, then RST_STREAM(NO_ERROR) (RFC 9113 §8.1): the response stands.
final class HTTP2SingleStreamEndTests: XCTestCase {
    private var harness: GatewayHarness!

    override func setUpWithError() throws {
        // The bound for a request still sent after its response: the close linger.
        harness = try GatewayHarness { $0.bridge.closeLinger = 0.3 }
    }

    override func tearDown() {
        harness = nil
    }

    static let killedPath = SessionCases.path(["sh", "-c", "kill -9 $$"], "stdin=1&stdout=1&stderr=1")

    func testTrailersThenResetNoErrorWhileRequestIsOpen() throws {
        let c = try H2RawConnection(port: harness.port, timeout: 10)
        c.send([H2Frame.settings(), H2Frame.request(1, method: "POST", path: Self.killedPath, endStream: false),
                H2Frame.data(1, Array(repeating: 0x61, count: 1000))], preface: true)
        let (frames, reset) = c.read { $0.stream == 1 && $0.type == H2Frame.rstStream }
        let headers = frames.filter { $0.stream == 1 && $0.type == H2Frame.headers }
        XCTAssertEqual(headers.count, 2, "response HEADERS, then trailers: \(frames)")
        XCTAssertEqual((headers.last?.flags ?? 0) & H2Frame.endStream, H2Frame.endStream, "trailers end the stream: \(frames)")
        XCTAssertEqual(reset?.errorCode, 0, "RST_STREAM(NO_ERROR) after the trailers: \(frames)")
        if let reset, let trailers = headers.last {
            XCTAssertLessThan(frames.firstIndex(of: trailers)!, frames.firstIndex(of: reset)!)
        }
    }

    /// A request already ended gets no reset: the stream closed normally.
    func testNoResetWhenTheRequestEnded() throws {
        let c = try H2RawConnection(port: harness.port, timeout: 10)
        c.send([H2Frame.settings(), H2Frame.request(1, path: SessionCases.path(["echo", "hi"], "stdout=1"), endStream: true),
                H2Frame.ping()], preface: true)
        let (frames, end) = c.read { $0.stream == 1 && $0.flags & H2Frame.endStream != 0 }
        XCTAssertNotNil(end, "\(frames)")
        // A PING round trip after the end: anything the gateway sent for stream 1 is in by then.
        c.send([H2Frame.ping(Array("second!!".utf8))])
        let (after, _) = c.read { $0.type == H2Frame.ping && $0.payload == Array("second!!".utf8) && $0.flags & H2Frame.ack != 0 }
        XCTAssertFalse(after.contains { $0.type == H2Frame.rstStream }, "\(after)")
    }

    /// What the issue saw with curl 7.88: "stream 1 was not closed cleanly", trailers lost.
    func testCurlKeepsTheTrailersAndExitsZero() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw XCTSkip("no curl") }
        // The default linger: time for curl to send the rest of its body, as it would in use.
        harness = try GatewayHarness()
        let body = NSTemporaryDirectory() + "h2-body-\(getpid())"
        FileManager.default.createFile(atPath: body, contents: Data(repeating: 0x62, count: 4 << 20))
        defer { try? FileManager.default.removeItem(atPath: body) }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sS", "-i", "--http2-prior-knowledge", "--max-time", "30", "--data-binary", "@" + body,
                          "http://127.0.0.1:\(harness.port)" + Self.killedPath]
        let out = Pipe(), err = Pipe()
        curl.standardOutput = out
        curl.standardError = err
        try curl.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        XCTAssertEqual(curl.terminationStatus, 0, "curl: \(errors)")
        XCTAssertTrue(output.lowercased().contains("exec-status:"), "trailers in curl's output: \(output)")
        XCTAssertFalse(errors.contains("not closed cleanly"), errors)
    }
}
