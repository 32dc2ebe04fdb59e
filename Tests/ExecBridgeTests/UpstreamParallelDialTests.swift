@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import SPDY
import Synchronization
import XCTest

/// Issue 15 item 2: a SPDY (or WebSocket-over-HTTP/1.1) upstream is dialled when the session is
/// admitted, in parallel with the client opening its channel streams, not after the last one.
final class UpstreamParallelDialTests: XCTestCase {
    private static let query = "container=app&command=echo&command=parallel&stdout=true"

    func testTheUpstreamIsDialledBeforeTheClientsLastStreamAndTheSessionStillRuns() throws {
        let pair = try UpstreamPair(.spdy, relayed: true)
        let relay = try XCTUnwrap(pair.relay)
        let client = try SPDYTestClient(port: pair.gateway.port, query: Self.query)
        _ = try client.session.openStream(headers: ["streamtype": "error"])
        client.flushPending()
        // The stdout stream is still missing: the gateway must already have dialled.
        XCTAssertTrue(poll { relay.accepted.load(ordering: .relaxed) == 1 }, "no upstream connection before the last stream")
        XCTAssertEqual(pair.seen.all.count, 0, "nothing reaches the upstream's exec server before the session starts")
        _ = try client.session.openStream(headers: ["streamtype": "stdout"])
        client.flushPending()
        let result = client.runToClose()
        XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), "parallel\n")
        XCTAssertTrue(result.status.contains("\"Success\""), result.status)
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 1)
    }

    func testAPreparedSessionWhoseClientNeverCompletesItsStreamsClosesItsUpstreamConnection() throws {
        let pair = try UpstreamPair(.spdy, relayed: true, gatewayConfig: { $0.bridge.streamCreationTimeout = 1 })
        let relay = try XCTUnwrap(pair.relay)
        let client = try SPDYTestClient(port: pair.gateway.port, query: Self.query)
        _ = try client.session.openStream(headers: ["streamtype": "error"])
        client.flushPending()
        XCTAssertTrue(poll { relay.accepted.load(ordering: .relaxed) == 1 })
        // The creation timeout ends the client's session; the upstream connection goes with it.
        XCTAssertTrue(poll { relay.closedByDialer.load(ordering: .relaxed) == 1 }, "the prepared upstream connection stayed open")
        XCTAssertEqual(pair.seen.all.count, 0)
    }

    func testAClientGoneBeforeItsStreamsClosesThePreparedUpstreamConnection() throws {
        let pair = try UpstreamPair(.spdy, relayed: true)
        let relay = try XCTUnwrap(pair.relay)
        var client: SPDYTestClient? = try SPDYTestClient(port: pair.gateway.port, query: Self.query)
        XCTAssertTrue(poll { relay.accepted.load(ordering: .relaxed) == 1 })
        client = nil
        XCTAssertNil(client)
        XCTAssertTrue(poll { relay.closedByDialer.load(ordering: .relaxed) == 1 }, "the prepared upstream connection stayed open")
    }

    private func poll(_ condition: () -> Bool) -> Bool {
        let deadline = EventLoop.now() + 20
        while !condition() {
            if EventLoop.now() > deadline { return false }
            usleep(5_000)
        }
        return true
    }
}

/// A SPDY exec client on a blocking socket that opens each stream when the test says so.
final class SPDYTestClient: SPDYSessionDelegate {
    let socket: RawSocket
    var session: SPDYSession!
    private var out: [UInt8] = []
    private var streamTypes: [UInt32: String] = [:]
    private(set) var stdout: [UInt8] = []
    private(set) var errorBody: [UInt8] = []

    init(port: UInt16, query: String) throws {
        socket = try RawSocket(port: port)
        socket.send("POST /api/v1/namespaces/default/pods/web/exec?\(query) HTTP/1.1\r\nHost: gw\r\n"
                    + "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
        guard socket.readResponse()?.status == 101 else { throw POSIXError(.EPROTO) }
        session = SPDYSession(role: .client, delegate: self)
    }

    func flushPending() {
        let bytes = out
        out.removeAll()
        socket.send(bytes)
    }

    /// Reads until the gateway closes: stdout and the error stream's Status.
    func runToClose() -> (stdout: [UInt8], status: String) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(socket.fd, &buffer, buffer.count, 0)
            // SIGCHLD from the in-process upstream's children interrupts the read.
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            session.receive(Array(buffer[0..<n]))
            flushPending()
        }
        return (stdout, String(decoding: errorBody, as: UTF8.self))
    }

    func spdySession(_ session: SPDYSession, write bytes: UnsafeRawBufferPointer) { out += Array(bytes) }
    func spdySession(_ session: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {
        // Stream ids follow the order the test opened them: 1 error, 3 stdout.
        if id == 1 { errorBody += Array(bytes) } else if id == 3 { stdout += Array(bytes) }
    }
    func spdySession(_ session: SPDYSession, didReceiveFin id: UInt32) {}
    func spdySession(_ session: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}
    func spdySession(_ session: SPDYSession, didReceiveSettings settings: [SPDYSetting]) {}
    func spdySession(_ session: SPDYSession, didFail error: SPDYError) {}
}
