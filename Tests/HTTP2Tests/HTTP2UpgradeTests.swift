import XCTest
@testable import HTTP2

final class HTTP2UpgradeTests: XCTestCase {
    func testSettingsHeaderValueIsBase64URLOfTheClientSettings() {
        let payload = HTTP2Session.settingsPayloadForUpgrade(HTTP2Settings())
        XCTAssertEqual(payload, [0, 2, 0, 0, 0, 0,          // ENABLE_PUSH 0
                                 0, 3, 0, 0, 0, 16,         // MAX_CONCURRENT_STREAMS 16
                                 0, 4, 0, 0, 0xff, 0xff,    // INITIAL_WINDOW_SIZE 65535
                                 0, 6, 0, 1, 0, 0])         // MAX_HEADER_LIST_SIZE 65536
        XCTAssertEqual(HTTP2Session.settingsHeaderValue(HTTP2Settings()), "AAIAAAAAAAMAAAAQAAQAAP__AAYAAQAA")
        XCTAssertEqual(HTTP2Session.decodeSettingsHeader("AAIAAAAAAAMAAAAQAAQAAP__AAYAAQAA"), payload)
        XCTAssertEqual(HTTP2Session.decodeSettingsHeader("AAMAAABk"), [0, 3, 0, 0, 0, 100])
        XCTAssertEqual(HTTP2Session.decodeSettingsHeader("AAMAAABkAAQAAP__"), [0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 255, 255])
        XCTAssertEqual(HTTP2Session.decodeSettingsHeader(""), [])
        XCTAssertNil(HTTP2Session.decodeSettingsHeader("AAMA+AB/"), "standard base64 is not base64url")
        XCTAssertNil(HTTP2Session.decodeSettingsHeader("A"))
    }

    /// The doc's flow: HTTP/1.1 upgrade request → 101 → stream 1 answered over HTTP/2, channel
    /// streams opened next to it.
    func testH2CUpgradeBothSides() throws {
        let clientSettings = HTTP2Settings(maxConcurrentStreams: 7, initialWindowSize: 1 << 20)
        let p = try Pair(client: clientSettings, start: false)
        let header = HTTP2Session.settingsHeaderValue(clientSettings)

        // Server: after writing "101 Switching Protocols".
        try p.server.upgradeFromHTTP1(http2SettingsHeader: header)
        try p.server.submitResponse(stream: 1, headers: [HTTP2Header(":status", "200"),
                                                         HTTP2Header("x-stream-protocol-version", "v4.channel.k8s.io")],
                                    hasBody: true)
        try p.server.sendData(bytes("hello over h2c"), stream: 1)
        p.server.flush()
        let serverFirst = Frame.parse(p.s.outbox)
        XCTAssertEqual(serverFirst.first?.type, FrameType.settings)
        XCTAssertEqual(serverFirst.map(\.type), [FrameType.settings, FrameType.windowUpdate, FrameType.headers,
                                                 FrameType.data])

        // Client: after reading the 101.
        try p.client.clientUpgraded()
        p.client.flush()
        XCTAssertEqual(Array(p.c.outbox.prefix(24)), Frame.magic)
        let clientFirst = Frame.parse(p.c.outbox, skippingMagic: true)
        XCTAssertEqual(clientFirst.first?.type, FrameType.settings)
        XCTAssertEqual(clientFirst.first?.payload, HTTP2Session.settingsPayloadForUpgrade(clientSettings))
        try p.pump()

        XCTAssertEqual(p.s.events, [], "no headers are reported for the upgraded request")
        XCTAssertEqual(p.c.headers[1]?.first?.first("x-stream-protocol-version"), "v4.channel.k8s.io")
        XCTAssertEqual(p.c.bodies[1], bytes("hello over h2c"))

        // A channel stream opens beside stream 1.
        p.s.onHeaders = { session, _, id in
            try? session.submitResponse(stream: id, headers: [HTTP2Header(":status", "200")], hasBody: true)
        }
        let stdin = try p.client.submitRequest(headers: request(extra: [HTTP2Header("streamtype", "stdin")]),
                                               hasBody: true)
        XCTAssertEqual(stdin, 3)
        try p.client.sendData(bytes("typed"), stream: stdin)
        try p.pump()
        XCTAssertEqual(p.s.bodies[3], bytes("typed"))

        // The server applied the client's HTTP2-Settings: its window for us is 1 MiB, not 64 KiB.
        try p.server.sendData([UInt8](repeating: 9, count: 200_000), stream: 1)
        p.c.autoConsume = false
        try p.pump()
        XCTAssertEqual(p.c.received[1], 14 + 200_000)

        // The session ends: stream 1 ends with it.
        try p.server.endStream(1)
        try p.pump()
        XCTAssertTrue(p.c.events.contains(.endStream(1)))
        XCTAssertTrue(p.c.events.contains(.close(1, 0)))
        XCTAssertTrue(p.s.events.contains(.close(1, 0)))
    }

    func testUpgradeRejectsBadSettingsAndWrongRole() throws {
        let server = HTTP2Session(role: .server, delegate: nil)
        XCTAssertThrowsError(try server.upgradeFromHTTP1(settingsPayload: [0, 3, 0]))
        XCTAssertThrowsError(try server.upgradeFromHTTP1(http2SettingsHeader: "not base64!"))
        XCTAssertThrowsError(try server.clientUpgraded())
        let client = HTTP2Session(role: .client, delegate: nil)
        XCTAssertThrowsError(try client.upgradeFromHTTP1(settingsPayload: []))
        try client.clientUpgraded()
        XCTAssertThrowsError(try client.clientUpgraded())
    }
}
