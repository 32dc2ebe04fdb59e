@testable import ExecBridge
import ExecModel
import HTTP2
import Reactor
import WebSocket
import XCTest

/// RFC 8441 Extended CONNECT on the HTTP/2 listener: a `:protocol websocket` stream on an exec
/// path carries the WebSocket channel protocol (spec §5 item 6).
final class WebSocketExtendedConnectTests: XCTestCase {
    private var harness: GatewayHarness!

    override func setUpWithError() throws {
        harness = try GatewayHarness()
    }

    override func tearDown() {
        harness = nil
    }

    private static let exit3 = #"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#

    func testServerAdvertisesExtendedConnect() {
        let c = ExtendedConnectClient(port: harness.port, path: SessionCases.path(["true"]), offers: ["v5.channel.k8s.io"])
        XCTAssertEqual(c.peerAllowsExtendedConnect, true)
    }

    func testOutputAndExitCodeOnV5() {
        let c = ExtendedConnectClient(port: harness.port, path: SessionCases.path(["sh", "-c", "echo out; echo err >&2; exit 3"]),
                                      offers: ["v5.channel.k8s.io", "v4.channel.k8s.io"])
        XCTAssertEqual(c.status, 200)
        XCTAssertEqual(c.responseHeaders.first("sec-websocket-protocol"), "v5.channel.k8s.io")
        XCTAssertNil(c.responseHeaders.first("sec-websocket-accept"))
        XCTAssertEqual(c.text(1), "out\n")
        XCTAssertEqual(c.text(2), "err\n")
        XCTAssertEqual(c.text(3), Self.exit3)
        XCTAssertEqual(c.closeCode, .normalClosure)
        XCTAssertEqual(c.firstMessage, [0x01], "the connected marker comes first")
    }

    func testStdinHalfCloseByCloseSignal() {
        let c = ExtendedConnectClient(port: harness.port, path: SessionCases.path(["wc", "-c"], "input=1&output=1&error=1"),
                                      offers: ["v5.channel.k8s.io"], stdin: Array("abcdef".utf8))
        XCTAssertEqual(c.text(1).trimmingCharacters(in: .whitespaces), "6\n")
        XCTAssertEqual(c.text(3), #"{"metadata":{},"status":"Success"}"#)
    }

    func testLargeOutputAndStdinThroughFlowControl() {
        let output = ExtendedConnectClient(port: harness.port, path: SessionCases.path(["head", "-c", "3000000", "/dev/zero"], "output=1"),
                                           offers: ["v5.channel.k8s.io"])
        XCTAssertEqual(output.channels[1]?.count, 3_000_000)
        XCTAssertEqual(output.text(3), #"{"metadata":{},"status":"Success"}"#)
        // More stdin than the stream window (256 KiB): credit comes back as the command reads it.
        let input = ExtendedConnectClient(port: harness.port, path: SessionCases.path(["wc", "-c"], "input=1&output=1&error=1"),
                                          offers: ["v5.channel.k8s.io"], stdin: [UInt8](repeating: 0x61, count: 2_000_000))
        XCTAssertEqual(input.text(1).trimmingCharacters(in: .whitespaces), "2000000\n")
    }

    func testBase64Subprotocol() {
        let c = ExtendedConnectClient(port: harness.port, path: SessionCases.path(["echo", "b64"]),
                                      offers: ["v4.base64.channel.k8s.io"])
        XCTAssertEqual(c.responseHeaders.first("sec-websocket-protocol"), "v4.base64.channel.k8s.io")
        XCTAssertEqual(c.text(1), "b64\n")
        XCTAssertEqual(c.text(3), #"{"metadata":{},"status":"Success"}"#)
    }

    func testOtherProtocolIs501() {
        let c = ExtendedConnectClient(port: harness.port, path: SessionCases.path(["true"]), offers: [], connectProtocol: "chat")
        XCTAssertEqual(c.status, 501)
        XCTAssertTrue(c.bodyText.contains("NotImplemented"), c.bodyText)
    }

    func testUnknownSubprotocolIs403() {
        let c = ExtendedConnectClient(port: harness.port, path: SessionCases.path(["true"]), offers: ["v9.channel.k8s.io"])
        XCTAssertEqual(c.status, 403)
        XCTAssertTrue(c.bodyText.contains("requested protocol(s) are not supported"), c.bodyText)
    }

    func testNotAnExecPathIs404() {
        let c = ExtendedConnectClient(port: harness.port, path: "/chat", offers: ["v5.channel.k8s.io"])
        XCTAssertEqual(c.status, 404)
    }
}

/// A minimal RFC 8441 client: HTTP/2 by prior knowledge, one CONNECT stream, WebSocket frames
/// (client role, masked) in its DATA; collects each channel's payload until the close frame.
final class ExtendedConnectClient: ConnectionHandler, HTTP2SessionDelegate, WebSocketConnectionDelegate {
    private(set) var status: Int?
    private(set) var responseHeaders: [HTTP2Header] = []
    private(set) var peerAllowsExtendedConnect: Bool?
    private(set) var channels: [UInt8: [UInt8]] = [:]
    private(set) var firstMessage: [UInt8]?
    private(set) var closeCode: WebSocketCloseCode?
    private(set) var body: [UInt8] = []
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    private let path: String
    private let offers: [String]
    private let connectProtocol: String
    private let stdin: [UInt8]?
    private var connection: Connection?
    private var h2: HTTP2Session?
    private var stream: Int32 = 0
    private var ws: WebSocketConnection?
    private var reader: ChannelMessageReader?
    private var message: [UInt8] = []
    private var done = false

    func text(_ channel: UInt8) -> String { String(decoding: channels[channel] ?? [], as: UTF8.self) }

    init(port: UInt16, path: String, offers: [String], connectProtocol: String = "websocket", stdin: [UInt8]? = nil) {
        self.path = path
        self.offers = offers
        self.connectProtocol = connectProtocol
        self.stdin = stdin
        let loop = EventLoop()
        connection = Connection.connect(loop: loop, to: try! SocketAddress(host: "127.0.0.1", port: port), handler: self)
        let deadline = EventLoop.now() + 20
        while !done && EventLoop.now() < deadline { loop.runOnce() }
        XCTAssertTrue(done, "the CONNECT stream did not end in time")
        h2?.terminate(errorCode: 0)
        h2?.flush()
        connection?.closeGracefully(linger: 1)
        let linger = EventLoop.now() + 0.05
        while EventLoop.now() < linger { loop.runOnce(block: false) }
    }

    // MARK: ConnectionHandler

    func connectionDidConnect(_ connection: Connection) {
        let session = HTTP2Session(role: .client, delegate: self)
        h2 = session
        try? session.start()
        session.flush()
    }

    func connectionDidRead(_ connection: Connection) {
        guard let h2 else { return }
        connection.consumeInput { chunk in
            try? h2.receive(chunk)
            return chunk.count
        }
        // The server's SETTINGS say whether CONNECT may carry :protocol; only then ask.
        if stream == 0, !done {
            peerAllowsExtendedConnect = h2.peerAllowsExtendedConnect
            if h2.peerAllowsExtendedConnect { openStream() }
        }
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        done = true
        self.connection = nil
    }

    private func openStream() {
        guard let h2 else { return }
        var headers = [HTTP2Header(":method", "CONNECT"), HTTP2Header(":protocol", connectProtocol),
                       HTTP2Header(":scheme", "http"), HTTP2Header(":path", path), HTTP2Header(":authority", "gw"),
                       HTTP2Header("sec-websocket-version", "13")]
        if !offers.isEmpty { headers.append(HTTP2Header("sec-websocket-protocol", offers.joined(separator: ", "))) }
        stream = (try? h2.submitRequest(headers: headers, hasBody: true)) ?? -1
        h2.flush()
    }

    // MARK: HTTP2SessionDelegate

    func http2Session(_ session: HTTP2Session, write bytes: UnsafeRawBufferPointer) {
        connection?.write(bytes)
    }

    func http2Session(_ session: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool) {
        guard stream == self.stream, !isTrailer else { return }
        responseHeaders = headers
        status = Int(headers.first(":status") ?? "")
        guard status == 200 else { return }
        let chosen = headers.first("sec-websocket-protocol").flatMap(WebSocketSubprotocol.init(token:)) ?? .unnamed
        reader = ChannelMessageReader(base64: chosen.base64, closeSignal: chosen.version >= .v5)
        let ws = WebSocketConnection(role: .client)
        ws.delegate = self
        self.ws = ws
        if let stdin {
            var offset = 0
            while offset < stdin.count {
                let n = min(64 * 1024, stdin.count - offset)
                ws.sendBinary([0x00] + stdin[offset..<offset + n])
                offset += n
            }
            ws.sendBinary([0xFF, 0x00])
        }
    }

    func http2Session(_ session: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        session.consume(stream: stream, bytes: bytes.count)
        guard stream == self.stream else { return }
        if let ws { ws.receive(bytes) } else { body.append(contentsOf: bytes) }
    }

    func http2Session(_ session: HTTP2Session, didReceiveEndStream stream: Int32) {
        // A refusal ends the server's side with its Status body: nothing more will come.
        if stream == self.stream, status != 200 { done = true }
    }

    func http2Session(_ session: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32) {
        if stream == self.stream { done = true }
    }

    // MARK: WebSocketConnectionDelegate

    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) {
        _ = try? h2?.sendData(bytes, stream: stream)
        h2?.flush()
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {
        message = []
        reader?.start()
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {
        message.append(contentsOf: bytes)
        try? reader?.feed(bytes) { self.collect($0) }
    }

    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {
        if firstMessage == nil { firstMessage = message }
        try? reader?.end { self.collect($0) }
    }

    private func collect(_ event: ChannelMessageReader.Event) {
        if case .data(let channel, let bytes) = event { channels[channel, default: []].append(contentsOf: bytes) }
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {
        closeCode = code
        try? h2?.endStream(stream)
        h2?.flush()
    }

    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {
        XCTFail("WebSocket protocol error from the gateway: \(code) \(reason)")
        done = true
    }
}

private extension WebSocketConnection {
    @discardableResult
    func sendBinary(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { sendBinary($0) }
    }
}
