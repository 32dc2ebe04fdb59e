import Foundation
@testable import ExecBridge
import ExecModel
import Reactor
import WebSocket
import XCTest

/// The third generation over the HTTP/1.1 upgrade: the in-repo WebSocket client, the gateway, the
/// local backend, for every subprotocol.
final class WebSocketSessionTests: XCTestCase {
    private var harness: GatewayHarness!
    private var cases: SessionCases!

    /// Every subprotocol, and none (the unnamed binary protocol).
    private static let everyOffer: [[WebSocketSubprotocol]] = [[.v5], [.v4], [.v4Base64], [.preV4], [.preV4Base64], []]

    override func setUpWithError() throws {
        harness = try GatewayHarness()
        cases = SessionCases(.ws([.v5, .v4]), harness: harness)
    }

    override func tearDown() {
        cases = nil
        harness = nil
    }

    private func run(_ offer: [WebSocketSubprotocol], _ argv: [String], flags: String = "output=1&error=1",
                     stdin: [UInt8]? = nil, closeStdin: Bool = true, tty: Bool = false, resizes: [TerminalSize] = [],
                     form: String = "/proxy/nodes/n1/exec/default/web/app") -> ExecRun {
        ExecRun(stdin: stdin, closeStdin: closeStdin, resizes: resizes)
            .run(.ws(offer), port: harness.port, path: SessionCases.path(argv, flags, form: form), tty: tty)
    }

    func testEchoOnEverySubprotocol() {
        for offer in Self.everyOffer {
            let r = run(offer, ["sh", "-c", "echo hello"])
            XCTAssertEqual(r.stdoutText, "hello\n", "\(offer)")
            XCTAssertEqual(r.status, .success, "\(offer)")
        }
    }

    func testExitCodeAndStderrOnEverySubprotocol() {
        for offer in Self.everyOffer {
            let r = run(offer, ["sh", "-c", "echo out; echo err >&2; exit 3"])
            XCTAssertEqual(r.stdoutText, "out\n", "\(offer)")
            XCTAssertEqual(r.stderrText, "err\n", "\(offer)")
            // v4/v5: the Status JSON's exit code; before: the error text, which carries it too.
            XCTAssertEqual(r.exitCode, 3, "\(offer): \(String(describing: r.status))")
        }
    }

    func testSharedCases() {
        cases.echo()
        cases.exitCodes()
        cases.stderrSeparate()
        cases.notFoundCommand()
    }

    func testStdinHalfCloseThroughCat10MiBOnV5() { cases.stdinHalfClose() }

    func testStdinOnBase64Subprotocol() {
        let input = Array("line one\nline two\n".utf8)
        let r = run([.v4Base64], ["head", "-c", "\(input.count)"], flags: "input=1&output=1&error=1", stdin: input)
        XCTAssertEqual(r.stdout, input)
        XCTAssertEqual(r.status, .success)
    }

    func testTTYResizeOnV5AndPreV4() {
        cases.ttyResize()
        SessionCases(.ws([.preV4]), harness: harness).ttyResize()
        SessionCases(.ws([.v4Base64]), harness: harness).ttyResize()
    }

    func testClientKilledLeavesNoProcess() { cases.clientKilledLeavesNoProcess() }
    func testSlowReaderStaysWithinBudget() { cases.slowReaderStaysWithinBudget() }

    func testEveryPathFormWorks() {
        let forms = ["/proxy/minions/n1/exec/default/web/app", "/proxy/nodes/n1/exec/default/web/app",
                     "/api/v1/nodes/n1/proxy/exec/default/web/app", "/exec/default/web/app",
                     "/api/v1beta3/proxy/minions/n1/exec/default/web/app"]
        for form in forms {
            let r = run([.v5, .v4], ["echo", form], form: form)
            XCTAssertEqual(r.stdoutText, form + "\n", form)
        }
        let api = ExecRun().run(.ws([.v5, .v4]), port: harness.port,
                                path: "/api/v1/namespaces/default/pods/web/exec?container=app&command=echo&command=api&stdout=true")
        XCTAssertEqual(api.stdoutText, "api\n")
    }

    // MARK: stdin half-close by version

    /// v5: the close signal `[255, 0]` is stdin's EOF; stdin the client sends after it is dropped.
    func testV5CloseSignalEndsStdin() {
        let driver = StdinDriver(harness: harness, offer: [.v5])
        XCTAssertEqual(driver.stdout, "hello")
        XCTAssertEqual(driver.status, .success, "cat saw EOF and exited by itself")
        XCTAssertFalse(driver.halfCloseDropped)
    }

    /// v4 has no stdin EOF: the half-close cannot be sent, stdin stays open (more stdin still
    /// arrives after it), and the command must end by itself: here it never does, so the client
    /// leaves and the gateway ends the command.
    func testV4CannotHalfCloseStdin() {
        let driver = StdinDriver(harness: harness, offer: [.v4])
        XCTAssertEqual(driver.stdout, "helloagain", "stdin still open after the half-close attempt")
        XCTAssertNil(driver.status)
        XCTAssertTrue(driver.halfCloseDropped)
        let deadline = EventLoop.now() + 15
        while !processes(containing: driver.marker).isEmpty && EventLoop.now() < deadline { usleep(50_000) }
        XCTAssertEqual(processes(containing: driver.marker), [], "the command outlived its client")
    }

    // MARK: Handshake answers

    private func handshake(_ extra: String, method: String = "GET", version: String = "13") throws -> RawSocket {
        let socket = try RawSocket(port: harness.port)
        socket.send("\(method) \(SessionCases.path(["echo", "hi"])) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\n"
                    + "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: \(version)\r\n\(extra)\r\n")
        return socket
    }

    /// Reads the 101 head and what follows it until `count` bytes of frames arrived.
    private func switchingHead(_ socket: RawSocket, frameBytes count: Int) -> (head: String, frames: [UInt8]) {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = data.firstRange(of: Array("\r\n\r\n".utf8)), data.count - end.upperBound >= count {
                return (String(decoding: data[..<end.upperBound], as: UTF8.self), Array(data[end.upperBound...]))
            }
            let n = recv(socket.fd, &buffer, buffer.count, 0)
            if n <= 0 { return (String(decoding: data, as: UTF8.self), []) }
            data.append(contentsOf: buffer[0..<n])
        }
    }

    func testSwitchingProtocolsAnswerAndConnectedMarker() throws {
        let socket = try handshake("Sec-WebSocket-Protocol: v9.channel.k8s.io, v4.channel.k8s.io, v5.channel.k8s.io\r\n"
                                   + "Sec-WebSocket-Extensions: permessage-deflate\r\n")
        let (head, frames) = switchingHead(socket, frameBytes: 3)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), head)
        XCTAssertTrue(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), head) // RFC 6455 §1.3
        XCTAssertTrue(head.contains("Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n"), "client order wins: \(head)")
        XCTAssertFalse(head.lowercased().contains("sec-websocket-extensions"), head)
        // The "connected" marker: an empty message on stdout, [0x01], in one unmasked binary frame.
        XCTAssertEqual(Array(frames.prefix(3)), [0x82, 0x01, 0x01])
    }

    func testNoSubprotocolOfferedEchoesNone() throws {
        let socket = try handshake("")
        let (head, frames) = switchingHead(socket, frameBytes: 3)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101 "), head)
        XCTAssertFalse(head.lowercased().contains("sec-websocket-protocol"), head)
        XCTAssertEqual(Array(frames.prefix(3)), [0x82, 0x01, 0x01])
    }

    func testBase64ConnectedMarkerIsText() throws {
        let socket = try handshake("Sec-WebSocket-Protocol: base64.channel.k8s.io\r\n")
        let (head, frames) = switchingHead(socket, frameBytes: 3)
        XCTAssertTrue(head.contains("Sec-WebSocket-Protocol: base64.channel.k8s.io\r\n"), head)
        XCTAssertEqual(Array(frames.prefix(3)), [0x81, 0x01, UInt8(ascii: "1")])
    }

    func testUnknownSubprotocolIs403BeforeTheUpgrade() throws {
        let socket = try handshake("Sec-WebSocket-Protocol: v9.channel.k8s.io\r\n")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 403)
        XCTAssertTrue(response.body.contains("requested protocol(s) are not supported: [v9.channel.k8s.io]"), response.body)
        XCTAssertTrue(response.body.contains(#""kind":"Status""#), response.body)
    }

    func testBadVersionIs426() throws {
        let socket = try handshake("Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n", version: "8")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 426)
        XCTAssertTrue(response.head.contains("Sec-WebSocket-Version: 13\r\n"), response.head)
    }

    func testPostIs405() throws {
        let socket = try handshake("Content-Length: 0\r\n", method: "POST")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 405)
    }

    // MARK: Protocol errors and keepalive (raw frames)

    /// Upgrades a raw socket on `argv` (stdin asked) and returns it past the 101 and the marker.
    private func upgraded(_ argv: [String], protocol token: String = "v5.channel.k8s.io") throws -> RawSocket {
        let socket = try RawSocket(port: harness.port)
        socket.send("GET \(SessionCases.path(argv, "input=1&output=1&error=1")) HTTP/1.1\r\nHost: gw\r\n"
                    + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: \(token)\r\n\r\n")
        let (head, frames) = switchingHead(socket, frameBytes: 3)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101 "), head)
        XCTAssertEqual(frames, [0x82, 0x01, 0x01], "exactly the connected marker so far")
        return socket
    }

    private func masked(_ opcode: WebSocketOpcode, _ payload: [UInt8]) -> [UInt8] {
        payload.withUnsafeBytes {
            WebSocketFrameEncoder.encodeFrame(opcode: opcode, payload: $0, maskingKey: WebSocketMaskingKey(1, 2, 3, 4))
        }
    }

    /// Reads `count` bytes (or what arrives before the peer closes).
    private func readBytes(_ socket: RawSocket, _ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: count)
        while out.count < count {
            let n = recv(socket.fd, &buffer, count - out.count, 0)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    /// The code of a close frame at the start of `bytes` (nil if it is not one).
    private func closeCode(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4, bytes[0] == 0x88 else { return nil }
        return Int(bytes[2]) << 8 | Int(bytes[3])
    }

    func testUnmaskedClientFrameIsClosedWith1002AndEndsTheCommand() throws {
        let marker = "wsunmasked\(Int.random(in: 100_000...999_999))"
        let socket = try upgraded(["sh", "-c", "cat", marker])
        socket.send([0x82, 0x02, 0x00, 0x41]) // stdin "A", but not masked
        XCTAssertEqual(closeCode(readBytes(socket, 4)), 1002)
        XCTAssertTrue(socket.peerClosed())
        let deadline = EventLoop.now() + 15
        while !processes(containing: marker).isEmpty && EventLoop.now() < deadline { usleep(50_000) }
        XCTAssertEqual(processes(containing: marker), [], "the command outlived its client")
    }

    func testMalformedV5CloseSignalIsAProtocolError() throws {
        let socket = try upgraded(["cat"])
        socket.send(masked(.binary, [0xFF, 0x00, 0x00]))
        XCTAssertEqual(closeCode(readBytes(socket, 4)), 1002)
    }

    func testV5CloseSignalOnRawFramesGivesTheStatus() throws {
        let socket = try upgraded(["wc", "-c"])
        socket.send(masked(.binary, [0x00] + Array("abc".utf8)))
        socket.send(masked(.binary, [0xFF, 0x00]))
        let success = Array(#"{"metadata":{},"status":"Success"}"#.utf8)
        let expected: [UInt8] = [0x82, 0x03, 0x01, UInt8(ascii: "3"), 0x0A, 0x82, UInt8(1 + success.count), 0x03]
            + success + [0x88, 0x02, 0x03, 0xE8]
        XCTAssertEqual(readBytes(socket, expected.count), expected, "stdout, status, close 1000")
        socket.send(masked(.close, [0x03, 0xE8]))
        XCTAssertTrue(socket.peerClosed(), "the gateway closes once the client answered the close")
    }

    func testIdleSessionIsPinged() throws {
        harness = try GatewayHarness { $0.bridge.keepaliveInterval = 0.05 }
        let socket = try upgraded(["sleep", "5"])
        XCTAssertEqual(readBytes(socket, 2), [0x89, 0x00], "an empty ping while nothing else moves")
    }

    func testRefusalReachesTheClientAsAFailureStatus() {
        let path = SessionCases.path(["echo", "never"])
        var options = ExecClientOptions(authority: "gw", path: path, stdin: false, stdout: true, stderr: true, tty: false)
        options.headers = [("Sec-WebSocket-Protocol", "v9.channel.k8s.io")]
        let r = ExecRun().run(.ws([]), port: harness.port, path: path, optionsOverride: options)
        guard case .failure(_, _, let code)? = r.status else {
            return XCTFail("expected a failure status, got \(String(describing: r.status)) / \(String(describing: r.ended))")
        }
        XCTAssertEqual(code, 403)
    }
}

/// Drives one WebSocket session by hand: stdin "hello", then a stdin half-close, then (once
/// "hello" came back) "again"; the client leaves once "again" came back too.
private final class StdinDriver: SessionEndpointDelegate {
    let marker = "wsstdin\(Int.random(in: 100_000...999_999))"
    private(set) var stdout = ""
    private(set) var status: ExecStatus?
    private(set) var halfCloseDropped = false
    private var client: WebSocketExecClient!
    private var ended = false

    init(harness: GatewayHarness, offer: [WebSocketSubprotocol]) {
        let loop = EventLoop()
        // `cat` under `sh -c` with a marker as $0, so the test can look for the process.
        let path = SessionCases.path(["sh", "-c", "cat", marker], "input=1&output=1&error=1")
        let options = ExecClientOptions(authority: "gw", path: path, stdin: true, stdout: true, stderr: true, tty: false)
        client = WebSocketExecClient(options: options, subprotocols: offer, delegate: self)
        client.start(loop: loop, address: try! SocketAddress(host: "127.0.0.1", port: harness.port))
        var step = 0
        let ticker = LoopTimer(loop: loop, after: 0.005, repeats: true) { [unowned self] in
            guard self.client.isReady, !self.ended else { return }
            switch step {
            case 0:
                Array("hello".utf8).withUnsafeBytes { self.client.receive(.data(.stdin, $0)) }
                self.client.receive(.halfClose(.stdin))
                step = 1
            case 1 where self.stdout == "hello":
                Array("again".utf8).withUnsafeBytes { self.client.receive(.data(.stdin, $0)) }
                step = 2
            case 2 where self.stdout == "helloagain":
                self.client.abort()
                self.ended = true
            default:
                break
            }
        }
        let deadline = EventLoop.now() + 20
        while !ended && EventLoop.now() < deadline { loop.runOnce() }
        ticker.cancel()
        halfCloseDropped = client.stdinHalfCloseDropped
        if !ended { client.abort() }
        // Let the client's close frame and FIN go out.
        let linger = EventLoop.now() + 0.05
        while EventLoop.now() < linger { loop.runOnce(block: false) }
        client = nil
    }

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        switch event {
        case .data(.stdout, let bytes): stdout += String(decoding: bytes, as: UTF8.self)
        case .exit(let status):
            self.status = status
            ended = true
        default: break
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {}

    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        ended = true
    }
}
