import Glibc

/// Received header bytes as Strings. The names and values nearly every request carries are handed
/// out as the literals below (no UTF-8 validation, no storage); anything else is decoded, bytes that
/// are not UTF-8 becoming replacement characters.
extension HTTP2Header {
    static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard let start = bytes.baseAddress else { return "" }
        if bytes.count <= CommonText.longest {
            for entry in CommonText.table where entry.bytes.count == bytes.count {
                let same = entry.bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, start, bytes.count) == 0 }
                if same { return entry.text }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private enum CommonText {
    static let table: [(bytes: [UInt8], text: String)] = [
        ":method", ":path", ":scheme", ":authority", ":status", ":protocol", "GET", "POST", "CONNECT",
        "http", "https", "user-agent", "accept", "accept-encoding", "content-type", "content-length",
        "streamtype", "x-stream-protocol-version", "exec-session", "authorization", "te", "trailers",
        "200", "websocket",
    ].map { (Array($0.utf8), $0) }

    static let longest = table.map(\.bytes.count).max() ?? 0
}
