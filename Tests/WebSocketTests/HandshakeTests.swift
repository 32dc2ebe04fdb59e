import WebSocket
import XCTest

final class HandshakeTests: XCTestCase {
    private func headers(_ pairs: [(String, String)]) -> (String) -> [String] {
        return { name in pairs.filter { $0.0.lowercased() == name.lowercased() }.map(\.1) }
    }

    private let goodHeaders: [(String, String)] = [
        ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Protocol", "v5.channel.k8s.io, v4.channel.k8s.io"),
        ("Sec-WebSocket-Protocol", "base64.channel.k8s.io"),
    ]

    private func replacing(_ name: String, with value: String?) -> [(String, String)] {
        var result = goodHeaders.filter { $0.0 != name }
        if let value { result.append((name, value)) }
        return result
    }

    func testRFCAcceptExample() {
        XCTAssertEqual(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    func testValidRequest() throws {
        let request = try WebSocketHandshake.validateClientRequest(method: "GET", headers: headers(goodHeaders))
        XCTAssertEqual(request.key, "dGhlIHNhbXBsZSBub25jZQ==")
        XCTAssertEqual(request.acceptValue, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        XCTAssertEqual(request.protocols, ["v5.channel.k8s.io", "v4.channel.k8s.io", "base64.channel.k8s.io"])
    }

    func testTokensAreCaseInsensitiveAndListed() throws {
        var pairs = replacing("Upgrade", with: "WebSocket")
        pairs = pairs.filter { $0.0 != "Connection" } + [("Connection", "keep-alive, UPGRADE")]
        XCTAssertNoThrow(try WebSocketHandshake.validateClientRequest(method: "GET", headers: headers(pairs)))
    }

    private func rejection(method: String = "GET", _ pairs: [(String, String)]) -> WebSocketRequestError? {
        do {
            _ = try WebSocketHandshake.validateClientRequest(method: method, headers: headers(pairs))
            return nil
        } catch {
            return error
        }
    }

    func testRejections() {
        let post = rejection(method: "POST", goodHeaders)
        XCTAssertEqual(post?.kind, .methodNotGet)
        XCTAssertEqual(post?.status, 405)

        XCTAssertEqual(rejection(replacing("Upgrade", with: nil))?.status, 400)
        XCTAssertEqual(rejection(replacing("Upgrade", with: "h2c"))?.kind, .missingUpgrade)
        XCTAssertEqual(rejection(replacing("Connection", with: "keep-alive"))?.kind, .missingConnectionUpgrade)
        XCTAssertEqual(rejection(replacing("Connection", with: "keep-alive"))?.status, 400)

        for version in [nil, "8", "13, 8", "14"] as [String?] {
            let error = rejection(replacing("Sec-WebSocket-Version", with: version))
            XCTAssertEqual(error?.kind, .unsupportedVersion, "\(String(describing: version))")
            XCTAssertEqual(error?.status, 426)
            XCTAssertEqual(error?.responseHeaders.map(\.name), ["Sec-WebSocket-Version"])
            XCTAssertEqual(error?.responseHeaders.map(\.value), ["13"])
        }

        for key in [nil, "", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ==x",
                    "dGhlIHNhbXBsZSBub25j*Q==", "dGhlIHNhbXBsZSBub25jZSE="] as [String?] {
            let error = rejection(replacing("Sec-WebSocket-Key", with: key))
            XCTAssertEqual(error?.kind, .invalidKey, "\(String(describing: key))")
            XCTAssertEqual(error?.status, 400)
        }
        var twoKeys = goodHeaders
        twoKeys.append(("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="))
        XCTAssertEqual(rejection(twoKeys)?.kind, .invalidKey)
    }

    private func responseFailure(status: Int, _ headers: (String) -> [String], key: String,
                                 offered: [String]) -> WebSocketResponseError.Kind? {
        do {
            _ = try WebSocketHandshake.verifyServerResponse(status: status, headers: headers, key: key,
                                                            offeredProtocols: offered)
            return nil
        } catch {
            return error.kind
        }
    }

    func testClientKeyIsFreshAndValid() {
        let a = WebSocketHandshake.makeClientKey()
        let b = WebSocketHandshake.makeClientKey()
        XCTAssertTrue(WebSocketHandshake.isValidKey(a), a)
        XCTAssertNotEqual(a, b)
    }

    func testClientVerifiesServerResponse() throws {
        let key = WebSocketHandshake.makeClientKey()
        let offered = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
        let request = try WebSocketHandshake.validateClientRequest(
            method: "GET", headers: headers(WebSocketHandshake.requestHeaders(key: key, protocols: offered)))
        XCTAssertEqual(request.protocols, offered)
        let answer = WebSocketHandshake.responseHeaders(acceptValue: request.acceptValue, protocol: "v5.channel.k8s.io")
        XCTAssertEqual(answer.map(\.name), ["Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol"])
        let chosen = try WebSocketHandshake.verifyServerResponse(
            status: 101, headers: headers(answer), key: key, offeredProtocols: offered)
        XCTAssertEqual(chosen, "v5.channel.k8s.io")

        func failure(status: Int = 101, _ pairs: [(String, String)]) -> WebSocketResponseError.Kind? {
            responseFailure(status: status, headers(pairs), key: key, offered: offered)
        }
        let good = answer.map { ($0.name, $0.value) }
        XCTAssertEqual(failure(status: 403, good), .notSwitchingProtocols)
        XCTAssertEqual(failure(good.filter { $0.0 != "Upgrade" }), .missingUpgrade)
        XCTAssertEqual(failure(good.filter { $0.0 != "Connection" }), .missingConnectionUpgrade)
        XCTAssertEqual(failure(good.filter { $0.0 != "Sec-WebSocket-Accept" } + [("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]),
                       .acceptMismatch)
        XCTAssertEqual(failure(good + [("Sec-WebSocket-Extensions", "permessage-deflate")]), .unexpectedExtension)
        XCTAssertEqual(failure(good.filter { $0.0 != "Sec-WebSocket-Protocol" } + [("Sec-WebSocket-Protocol", "v3.channel.k8s.io")]),
                       .unexpectedProtocol)
        XCTAssertNil(failure(good.filter { $0.0 != "Sec-WebSocket-Protocol" }))
    }
}
