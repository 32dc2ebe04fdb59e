import XCTest
import ExecModel

final class NegotiationTests: XCTestCase {
    private let spdySupported: [ChannelVersion] = [.v4, .v3, .v2, .v1]

    func testSplitOffers() {
        XCTAssertEqual(VersionNegotiation.splitOffers(["v5.channel.k8s.io", "v4.channel.k8s.io , v3.channel.k8s.io,,",
                                                       " channel.k8s.io\t", ""]),
                       ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "channel.k8s.io"])
        XCTAssertEqual(VersionNegotiation.splitOffers([]), [])
    }

    func testClientOrderWins() {
        let offers = ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]
        XCTAssertEqual(try VersionNegotiation.negotiate(offered: offers, supported: spdySupported).get(), .v4)
        XCTAssertEqual(try VersionNegotiation.negotiate(offered: offers, supported: ChannelVersion.allCases).get(), .v5)
        // A client preferring an older version gets it even though the server lists newer first.
        XCTAssertEqual(try VersionNegotiation.negotiate(offered: ["v2.channel.k8s.io", "v4.channel.k8s.io"],
                                                        supported: spdySupported).get(), .v2)
        XCTAssertEqual(try VersionNegotiation.negotiate(offered: ["foo", "channel.k8s.io"],
                                                        supported: spdySupported).get(), .v1)
        // Folded by a proxy into one line.
        let folded = VersionNegotiation.splitOffers(["v3.channel.k8s.io, v4.channel.k8s.io"])
        XCTAssertEqual(try VersionNegotiation.negotiate(offered: folded, supported: spdySupported).get(), .v3)
    }

    func testNoHeaderMeansV1() {
        XCTAssertEqual(try VersionNegotiation.negotiate(offered: [], supported: spdySupported).get(), .v1)
    }

    func testNoCommonVersionIs403() {
        let result = VersionNegotiation.negotiate(offered: ["v5.channel.k8s.io", "v9.channel.k8s.io"],
                                                  supported: spdySupported)
        XCTAssertEqual(result, .failure(RequestError(
            code: 403, reason: "Forbidden",
            message: "unable to upgrade: unable to negotiate protocol: client supports [v5.channel.k8s.io "
                + "v9.channel.k8s.io], server accepts [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io "
                + "channel.k8s.io]",
            headers: [.init("X-Accepted-Stream-Protocol-Versions", "v4.channel.k8s.io"),
                      .init("X-Accepted-Stream-Protocol-Versions", "v3.channel.k8s.io"),
                      .init("X-Accepted-Stream-Protocol-Versions", "v2.channel.k8s.io"),
                      .init("X-Accepted-Stream-Protocol-Versions", "channel.k8s.io")])))
        guard case .failure(let error) = result else { return }
        XCTAssertEqual(error.statusJSON,
                       #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"unable to "#
                       + #"upgrade: unable to negotiate protocol: client supports [v5.channel.k8s.io v9.channel.k8s.io], "#
                       + #"server accepts [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]","#
                       + #""reason":"Forbidden","code":403}"#)
        // Without v1 support an old client has nothing in common.
        XCTAssertEqual(VersionNegotiation.negotiate(offered: [], supported: [.v5, .v4]).map { $0 }.failureCode, 403)
    }

    func testWebSocketNegotiation() {
        let all = WebSocketSubprotocol.all
        XCTAssertEqual(all.map(\.token), ["v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io",
                                          "channel.k8s.io", "base64.channel.k8s.io"])
        XCTAssertEqual(try VersionNegotiation.negotiateWebSocket(offered: [], supported: all).get(), nil)
        XCTAssertEqual(try VersionNegotiation.negotiateWebSocket(
            offered: ["v5.channel.k8s.io", "v4.channel.k8s.io"], supported: all).get(), .v5)
        XCTAssertEqual(try VersionNegotiation.negotiateWebSocket(
            offered: VersionNegotiation.splitOffers(["base64.channel.k8s.io, v4.channel.k8s.io"]), supported: all).get(),
            WebSocketSubprotocol(version: .v3, base64: true, token: "base64.channel.k8s.io"))
        XCTAssertEqual(try VersionNegotiation.negotiateWebSocket(
            offered: ["v5.channel.k8s.io", "v4.base64.channel.k8s.io"], supported: [.v4, .v4Base64]).get(), .v4Base64)
        XCTAssertEqual(VersionNegotiation.negotiateWebSocket(offered: ["v5.channel.k8s.io", "chat"],
                                                             supported: [.v4, .preV4]),
                       .failure(.forbidden("requested protocol(s) are not supported: [v5.channel.k8s.io chat]; "
                                           + "supports [v4.channel.k8s.io channel.k8s.io]")))
        XCTAssertEqual(WebSocketSubprotocol(token: "v4.base64.channel.k8s.io"),
                       WebSocketSubprotocol(version: .v4, base64: true, token: "v4.base64.channel.k8s.io"))
        XCTAssertNil(WebSocketSubprotocol(token: "v3.channel.k8s.io"))
    }

    func testUpgradeDetection() {
        func detect(_ connection: [String], _ upgrade: [String], settings: Bool = false) -> UpgradeKind {
            UpgradeKind.detect(connectionTokens: connection, upgradeTokens: upgrade, hasHTTP2Settings: settings)
        }
        XCTAssertEqual(detect(["upgrade"], ["spdy/3.1"]), .spdy)
        XCTAssertEqual(detect(["close", "upgrade"], ["spdy/3.1"]), .spdy)
        XCTAssertEqual(detect(["upgrade", "http2-settings"], ["h2c"], settings: true), .h2c)
        XCTAssertEqual(detect(["upgrade"], ["h2c"], settings: false), .none)
        XCTAssertEqual(detect(["upgrade"], ["websocket"]), .websocket)
        XCTAssertEqual(detect(["keep-alive", "upgrade"], ["foo/1", "websocket"]), .websocket)
        XCTAssertEqual(detect(["keep-alive"], ["spdy/3.1"]), .none)
        XCTAssertEqual(detect([], ["websocket"]), .none)
        XCTAssertEqual(detect(["upgrade"], []), .none)
        XCTAssertEqual(detect(["upgrade"], ["spdy/3"]), .none)
    }
}

private extension Result {
    var failureCode: Int? {
        if case .failure(let error as RequestError) = self { return error.code }
        return nil
    }
}
