/// The opening handshake (RFC 6455 §4), both sides. Headers come in through a closure giving
/// every value of a header by name (case-insensitive lookup is the caller's), so this module does
/// not depend on any HTTP parser.
public enum WebSocketHandshake {
    /// §1.3: appended to the key before hashing.
    public static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    /// The only protocol version this codec speaks.
    public static let version = "13"

    /// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        HandshakeCrypto.base64(HandshakeCrypto.sha1(Array((key + acceptGUID).utf8)))
    }

    /// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64.
    public static func makeClientKey() -> String {
        HandshakeCrypto.base64(HandshakeCrypto.randomBytes(16))
    }

    /// Whether `key` is base64 for exactly 16 bytes (24 characters ending in "==").
    public static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        return bytes[..<22].allSatisfy(isBase64Character)
    }

    /// Checks an upgrade request on the server side. On success returns the key, the accept value
    /// to answer with and the subprotocols the client offered (choosing one is the caller's job).
    public static func validateClientRequest(
        method: String, headers: (String) -> [String]
    ) throws(WebSocketRequestError) -> WebSocketClientRequest {
        guard method == "GET" else {
            throw WebSocketRequestError(.methodNotGet, status: 405, "WebSocket upgrade requires GET, not \(method)",
                                        responseHeaders: [("Allow", "GET")])
        }
        guard tokens(headers("Upgrade")).contains(where: { $0.lowercased() == "websocket" }) else {
            throw WebSocketRequestError(.missingUpgrade, status: 400, "missing Upgrade: websocket")
        }
        guard tokens(headers("Connection")).contains(where: { $0.lowercased() == "upgrade" }) else {
            throw WebSocketRequestError(.missingConnectionUpgrade, status: 400, "Connection header lacks upgrade")
        }
        guard tokens(headers("Sec-WebSocket-Version")) == [version] else {
            throw WebSocketRequestError(.unsupportedVersion, status: 426,
                                        "unsupported Sec-WebSocket-Version (only 13 is supported)",
                                        responseHeaders: [("Sec-WebSocket-Version", version)])
        }
        let keys = headers("Sec-WebSocket-Key").map(trim)
        guard keys.count == 1, isValidKey(keys[0]) else {
            throw WebSocketRequestError(.invalidKey, status: 400,
                                        "Sec-WebSocket-Key must be one base64 value of 16 bytes")
        }
        return WebSocketClientRequest(key: keys[0], acceptValue: acceptValue(forKey: keys[0]),
                                      protocols: tokens(headers("Sec-WebSocket-Protocol")))
    }

    /// The headers of the server's `101 Switching Protocols` answer.
    public static func responseHeaders(acceptValue: String, protocol chosen: String?) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptValue),
        ]
        if let chosen { headers.append(("Sec-WebSocket-Protocol", chosen)) }
        return headers
    }

    /// The upgrade headers a client sends (besides Host and the request line).
    public static func requestHeaders(key: String, protocols: [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version),
        ]
        if !protocols.isEmpty { headers.append(("Sec-WebSocket-Protocol", protocols.joined(separator: ", "))) }
        return headers
    }

    /// Checks a server's answer on the client side (§4.1): status 101, the upgrade headers, the
    /// accept value for `key`, no extension (none was offered), and a subprotocol among those
    /// offered. Returns the chosen subprotocol, if any.
    public static func verifyServerResponse(
        status: Int, headers: (String) -> [String], key: String, offeredProtocols: [String]
    ) throws(WebSocketResponseError) -> String? {
        guard status == 101 else { throw WebSocketResponseError(.notSwitchingProtocols, "server answered \(status), not 101") }
        guard tokens(headers("Upgrade")).contains(where: { $0.lowercased() == "websocket" }) else {
            throw WebSocketResponseError(.missingUpgrade, "101 answer lacks Upgrade: websocket")
        }
        guard tokens(headers("Connection")).contains(where: { $0.lowercased() == "upgrade" }) else {
            throw WebSocketResponseError(.missingConnectionUpgrade, "101 answer lacks Connection: upgrade")
        }
        let accepts = headers("Sec-WebSocket-Accept").map(trim)
        guard accepts == [acceptValue(forKey: key)] else {
            throw WebSocketResponseError(.acceptMismatch, "Sec-WebSocket-Accept does not match the key")
        }
        guard tokens(headers("Sec-WebSocket-Extensions")).isEmpty else {
            throw WebSocketResponseError(.unexpectedExtension, "server chose an extension that was not offered")
        }
        let chosen = tokens(headers("Sec-WebSocket-Protocol"))
        switch chosen.count {
        case 0:
            return nil
        case 1 where offeredProtocols.contains(chosen[0]):
            return chosen[0]
        default:
            throw WebSocketResponseError(.unexpectedProtocol, "server chose a subprotocol that was not offered")
        }
    }

    /// Comma-separated list elements of all the values, trimmed, empty ones dropped.
    static func tokens(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }.map { trim(String($0)) }.filter { !$0.isEmpty }
    }

    static func trim(_ value: String) -> String {
        var scalars = Substring(value)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }

    private static func isBase64Character(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }
}

/// A valid client upgrade request, as the server sees it.
public struct WebSocketClientRequest: Hashable, Sendable {
    public var key: String
    /// The `Sec-WebSocket-Accept` value to answer with.
    public var acceptValue: String
    /// `Sec-WebSocket-Protocol` offers, in the client's order of preference.
    public var protocols: [String]
}

/// Why a server refuses an upgrade request: the HTTP status and extra headers to answer with.
public struct WebSocketRequestError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Hashable {
        case methodNotGet, missingUpgrade, missingConnectionUpgrade, unsupportedVersion, invalidKey
    }
    public var kind: Kind
    /// 405 (not GET), 426 (version), else 400.
    public var status: Int
    public var message: String
    /// E.g. `Sec-WebSocket-Version: 13` with 426, `Allow: GET` with 405.
    public var responseHeaders: [(name: String, value: String)]

    init(_ kind: Kind, status: Int, _ message: String, responseHeaders: [(name: String, value: String)] = []) {
        self.kind = kind
        self.status = status
        self.message = message
        self.responseHeaders = responseHeaders
    }

    public var description: String { "\(status): \(message)" }
}

/// Why a client rejects a server's answer to its upgrade request.
public struct WebSocketResponseError: Error, CustomStringConvertible, Hashable, Sendable {
    public enum Kind: Sendable, Hashable {
        case notSwitchingProtocols, missingUpgrade, missingConnectionUpgrade, acceptMismatch
        case unexpectedExtension, unexpectedProtocol
    }
    public var kind: Kind
    public var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
