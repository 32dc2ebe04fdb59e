@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import SPDY
import XCTest

/// Issue 14: a send the SPDY session refuses is not counted as sent. Once the client broke the
/// protocol the session cannot carry output any more; the gateway must end the session (and the
/// command) then, not keep running it while dropping its output until the linger time runs out.
final class SPDYSendFailureTests: XCTestCase {
    func testOutputAfterAClientProtocolErrorEndsTheSession() throws {
        // A linger far beyond the test: only the refused send can end this session in time.
        let harness = try GatewayHarness { $0.bridge.closeLinger = 600 }
        let marker = "\(Int.random(in: 100_000...999_999))"
        let script = "while :; do echo \(marker); sleep 0.05; done"
        let socket = try RawSocket(port: harness.port)
        let query = "container=app&command=sh&command=-c&command=\(SessionCases.encode(script))&stdout=true"
        socket.send("POST /api/v1/namespaces/default/pods/web/exec?\(query) HTTP/1.1\r\nHost: gw\r\n"
                    + "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
        XCTAssertEqual(socket.readResponse()?.status, 101)

        let client = RawSPDYClient(socket: socket)
        _ = try client.session.openStream(headers: ["streamtype": "error"])
        _ = try client.session.openStream(headers: ["streamtype": "stdout"])
        // The command runs once its output flows.
        var seen = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        while seen < 64 {
            let n = recv(socket.fd, &buffer, buffer.count, 0)
            guard n > 0 else { return XCTFail("no output from the session") }
            seen += n
        }
        XCTAssertEqual(harness.gateway.sessionsEnded, 0)

        // A DATA frame on stream 0: a session error (the gateway sends GOAWAY and fails the session).
        socket.send([0, 0, 0, 0, 0, 0, 0, 1, 0x41])

        // The socket stays open: the session must end on its own.
        let deadline = EventLoop.now() + 20
        while harness.gateway.sessionsEnded == 0, EventLoop.now() < deadline { usleep(50_000) }
        XCTAssertEqual(harness.gateway.sessionsEnded, 1)
        while !processes(containing: marker).isEmpty, EventLoop.now() < deadline { usleep(50_000) }
        XCTAssertEqual(processes(containing: marker), [])
    }
}

/// Just enough of a SPDY client to open streams on a raw socket; what the gateway sends is read
/// by the test itself.
private final class RawSPDYClient: SPDYSessionDelegate {
    let socket: RawSocket
    var session: SPDYSession!

    init(socket: RawSocket) {
        self.socket = socket
        session = SPDYSession(role: .client, delegate: self)
    }

    func spdySession(_ session: SPDYSession, write bytes: UnsafeRawBufferPointer) { socket.send(Array(bytes)) }
    func spdySession(_ session: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {}
    func spdySession(_ session: SPDYSession, didReceiveFin id: UInt32) {}
    func spdySession(_ session: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}
    func spdySession(_ session: SPDYSession, didReceiveSettings settings: [SPDYSetting]) {}
    func spdySession(_ session: SPDYSession, didFail error: SPDYError) {}
}
