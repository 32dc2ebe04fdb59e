import WebSocket
import XCTest

/// One end of an in-memory connection: records what its connection reports and queues what it
/// writes, so the test decides when bytes cross (never re-entering `receive` from `write`).
private final class Peer: WebSocketConnectionDelegate {
    enum Event: Equatable {
        case start(WebSocketOpcode), data([UInt8]), end, ping([UInt8]), pong([UInt8])
        case close(UInt16?, String), fail(UInt16, String)
    }

    let connection: WebSocketConnection
    var outbox: [UInt8] = []
    var writes = 0
    var events: [Event] = []

    init(_ role: WebSocketRole, configuration: WebSocketConnection.Configuration = .init()) {
        var counter: UInt8 = 0
        connection = WebSocketConnection(role: role, configuration: configuration, maskingKeySource: {
            counter &+= 1
            return WebSocketMaskingKey(counter, 0x5A, counter &* 3, 0xC3)
        })
        connection.delegate = self
    }

    func receive(_ bytes: [UInt8]) { bytes.withUnsafeBytes { connection.receive($0) } }

    func takeOutbox() -> [UInt8] {
        defer { outbox = [] }
        return outbox
    }

    private func record(_ event: Event) {
        if case .data(let more) = event, case .data(let previous)? = events.last {
            events[events.count - 1] = .data(previous + more)
        } else {
            events.append(event)
        }
    }

    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) {
        writes += 1
        outbox += bytes
    }
    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) { record(.start(opcode)) }
    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) { record(.data(Array(bytes))) }
    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) { record(.end) }
    func webSocket(_ connection: WebSocketConnection, didReceivePing payload: UnsafeRawBufferPointer) { record(.ping(Array(payload))) }
    func webSocket(_ connection: WebSocketConnection, didReceivePong payload: UnsafeRawBufferPointer) { record(.pong(Array(payload))) }
    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {
        record(.close(code?.rawValue, reason))
    }
    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {
        record(.fail(code.rawValue, reason))
    }
}

/// Moves queued bytes both ways until neither side has anything to say.
private func pump(_ a: Peer, _ b: Peer) {
    while !a.outbox.isEmpty || !b.outbox.isEmpty {
        b.receive(a.takeOutbox())
        a.receive(b.takeOutbox())
    }
}

final class ConnectionTests: XCTestCase {
    func testServerFramesAreExactAndWrittenOnce() {
        let server = Peer(.server)
        XCTAssertTrue([UInt8]("Hello").withUnsafeBytes { server.connection.sendText($0) })
        XCTAssertEqual(server.takeOutbox(), [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        XCTAssertEqual(server.writes, 1)
        // Head and body go out as one frame.
        let sent = [UInt8]([1]).withUnsafeBytes { head in
            [UInt8]("out").withUnsafeBytes { server.connection.sendBinary(head, $0) }
        }
        XCTAssertTrue(sent)
        XCTAssertEqual(server.takeOutbox(), [0x82, 0x04, 0x01, 0x6F, 0x75, 0x74])
    }

    func testClientFramesAreMasked() {
        let client = Peer(.client)
        XCTAssertTrue(client.connection.sendText("Hello"))
        let bytes = client.takeOutbox()
        let key = WebSocketMaskingKey(1, 0x5A, 3, 0xC3)
        XCTAssertEqual(bytes, frame(.text, [UInt8]("Hello"), key: key))
        XCTAssertEqual(bytes[1] & 0x80, 0x80)
    }

    func testBinaryMessagesBothWays() {
        let client = Peer(.client, configuration: .init(sendBufferSize: 4096))
        let server = Peer(.server, configuration: .init(receiveScratchSize: 1000, sendBufferSize: 4096))
        let upload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let download = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }

        XCTAssertTrue(upload.withUnsafeBytes { client.connection.sendBinary($0) })
        XCTAssertGreaterThan(client.writes, 20, "client masks through its bounded output buffer")
        XCTAssertTrue(download.withUnsafeBytes { server.connection.sendBinary($0) })
        pump(client, server)

        XCTAssertEqual(server.events, [.start(.binary), .data(upload), .end])
        XCTAssertEqual(client.events, [.start(.binary), .data(download), .end])
    }

    func testFragmentedSending() {
        let client = Peer(.client)
        let server = Peer(.server)
        let c = client.connection
        XCTAssertTrue([UInt8]("ab").withUnsafeBytes { c.sendBinary($0, fin: false) })
        XCTAssertTrue(c.isSendingMessage)
        XCTAssertFalse(c.sendText("no"), "a text message cannot start inside a binary one")
        XCTAssertTrue(c.ping())
        XCTAssertTrue([UInt8]("cd").withUnsafeBytes { c.sendBinary($0, fin: true) })
        XCTAssertFalse(c.isSendingMessage)
        pump(client, server)
        XCTAssertEqual(server.events, [.start(.binary), .data([UInt8]("ab")), .ping([]), .data([UInt8]("cd")), .end])
        XCTAssertEqual(client.events, [.pong([])])
    }

    func testPingIsAnsweredWithPong() {
        let client = Peer(.client)
        let server = Peer(.server)
        XCTAssertTrue([UInt8]("beat").withUnsafeBytes { server.connection.ping($0) })
        XCTAssertFalse([UInt8](repeating: 0, count: 126).withUnsafeBytes { server.connection.ping($0) })
        pump(client, server)
        XCTAssertEqual(client.events, [.ping([UInt8]("beat"))])
        XCTAssertEqual(server.events, [.pong([UInt8]("beat"))])
    }

    func testCloseHandshakeStartedByClient() {
        let client = Peer(.client)
        let server = Peer(.server)
        client.connection.close(code: .normalClosure, reason: "bye")
        XCTAssertEqual(client.connection.state, .closeSent)
        XCTAssertFalse(client.connection.sendText("late"), "no data after sending close")
        XCTAssertFalse(client.connection.ping())
        // The server still sends until it sees the close.
        XCTAssertTrue(server.connection.sendText("still here"))

        pump(client, server)
        XCTAssertEqual(server.events, [.close(1000, "bye")])
        XCTAssertEqual(server.connection.state, .closed)
        XCTAssertEqual(client.events, [.start(.text), .data([UInt8]("still here")), .end, .close(1000, "")])
        XCTAssertEqual(client.connection.state, .closed)
        XCTAssertFalse(server.connection.sendText("after"))
    }

    func testCloseWithoutCodeIsAnsweredWithoutCode() {
        let client = Peer(.client)
        let server = Peer(.server)
        server.connection.close(code: nil)
        XCTAssertEqual(server.takeOutbox(), [0x88, 0x00])
        client.receive([0x88, 0x00])
        XCTAssertEqual(client.events, [.close(nil, "")])
        XCTAssertEqual(client.takeOutbox(), frame(.close, [], key: WebSocketMaskingKey(1, 0x5A, 3, 0xC3)))
    }

    func testProtocolErrorSendsCloseThenFails() {
        let server = Peer(.server)
        server.receive(frame(.binary, [1, 2, 3]))  // unmasked: not allowed from a client
        XCTAssertEqual(server.events, [.fail(1002, "client frame is not masked")])
        XCTAssertEqual(server.connection.state, .closed)
        XCTAssertEqual(server.takeOutbox(), frame(.close, [0x03, 0xEA] + [UInt8]("client frame is not masked")))
        server.receive(frame(.binary, [1], key: testKey))
        XCTAssertEqual(server.events.count, 1, "input after the failure is ignored")
        XCTAssertTrue(server.outbox.isEmpty)
    }

    func testOversizeAndBadTextFailWithTheirCodes() {
        let server = Peer(.server, configuration: .init(maxMessageSize: 10))
        server.receive(frame(.binary, [UInt8](repeating: 0, count: 11), key: testKey))
        XCTAssertEqual(server.events.last, .fail(1009, "message larger than 10 bytes"))
        XCTAssertEqual(Array(server.takeOutbox()[2..<4]), [0x03, 0xF1])

        let client = Peer(.client)
        client.receive(frame(.text, fin: false, [0xE2]) + frame(.continuation, [0x41]))
        guard case .fail(1007, _)? = client.events.last else { return XCTFail("\(client.events)") }
        // The client's close frame is masked and carries 1007.
        let decoded = decode(client.takeOutbox(), role: .server)
        XCTAssertEqual(decoded.events.first, .close(1007, "text message is not valid UTF-8"))
    }

    func testDataStillArrivesAfterSendingClose() {
        let client = Peer(.client)
        let server = Peer(.server)
        server.connection.close(code: .goingAway, reason: "shutdown")
        _ = server.takeOutbox()  // the client has not seen it yet
        XCTAssertTrue(client.connection.sendText("in flight"))
        server.receive(client.takeOutbox())
        XCTAssertEqual(server.events, [.start(.text), .data([UInt8]("in flight")), .end])
        XCTAssertEqual(server.connection.state, .closeSent)
        client.connection.close(code: .goingAway)
        server.receive(client.takeOutbox())
        XCTAssertEqual(server.events.last, .close(1001, ""))
        XCTAssertEqual(server.connection.state, .closed)
        XCTAssertTrue(server.outbox.isEmpty, "a close already sent is not sent again")
    }

    func testCollectorAssemblesSmallMessages() {
        var collector = WebSocketMessageCollector(limit: 8)
        collector.start(.text)
        XCTAssertTrue([UInt8]("abc").withUnsafeBytes { collector.append($0) })
        XCTAssertTrue([UInt8]("defgh").withUnsafeBytes { collector.append($0) })
        XCTAssertFalse([UInt8]("i").withUnsafeBytes { collector.append($0) })
        let message = collector.finish()
        XCTAssertEqual(message?.opcode, .text)
        XCTAssertEqual(message?.bytes, [UInt8]("abcdefgh"))
        XCTAssertNil(collector.finish())
    }
}
