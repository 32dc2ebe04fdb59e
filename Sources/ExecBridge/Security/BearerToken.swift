/// Where a caller's bearer token travels: `Authorization: Bearer <token>`, or (browsers cannot set
/// headers on a WebSocket) the subprotocol `base64url.bearer.authorization.k8s.io.<base64url token>`,
/// as kube-apiserver accepts them.
enum BearerToken {
    static let webSocketPrefix = "base64url.bearer.authorization.k8s.io."

    /// Whether a subprotocol offer carries a token, whatever its case: never to be written down.
    static func isWebSocketToken<S: StringProtocol>(_ offer: S) -> Bool {
        offer.trimmingWhitespace.lowercased().hasPrefix(webSocketPrefix)
    }

    /// The presented token, if any; nil when none was offered (then the caller is anonymous).
    /// An `Authorization` header of another scheme is not a bearer token.
    static func presented(in context: RequestContext) -> String? {
        if let header = context.header("authorization") {
            let parts = header.trimmingWhitespace.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count >= 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty {
                return String(parts[1])
            }
            return nil
        }
        for line in context.headers where line.name == "sec-websocket-protocol" {
            for offer in line.value.split(separator: ",") {
                let name = offer.trimmingWhitespace
                guard name.hasPrefix(webSocketPrefix) else { continue }
                let encoded = String(name.dropFirst(webSocketPrefix.count))
                guard let bytes = decodeBase64URL(encoded), let token = String(validating: bytes, as: UTF8.self),
                      !token.isEmpty else {
                    return "" // offered but undecodable: a bad token, never anonymous
                }
                return token
            }
        }
        return nil
    }

    /// Unpadded base64url (RFC 4648 §5), as Kubernetes encodes the WebSocket token.
    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "_"): value = 63
            default: return nil
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return bits >= 6 ? nil : out
    }
}

extension StringProtocol {
    var trimmingWhitespace: Substring {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
