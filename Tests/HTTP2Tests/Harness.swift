import XCTest
@testable import HTTP2

/// Records everything a session reports and keeps its output until the pump moves it.
final class Peer: HTTP2SessionDelegate {
    enum Event: Equatable {
        case headers(stream: Int32, endStream: Bool, isTrailer: Bool)
        case endStream(Int32)
        case close(Int32, UInt32)
        case canSendMore(Int32)
        case goAway(Int32, UInt32)
        case pingAck
    }

    var outbox: [UInt8] = []
    var events: [Event] = []
    var headers: [Int32: [[HTTP2Header]]] = [:]
    var bodies: [Int32: [UInt8]] = [:]
    var received: [Int32: Int] = [:]
    /// Credit DATA back as soon as it arrives (a consumer that keeps up).
    var autoConsume = true
    /// Keep body bytes (off for big transfers, which only count and hash).
    var keepBodies = true
    var hashes: [Int32: Checksum] = [:]
    var onHeaders: ((HTTP2Session, [HTTP2Header], Int32) -> Void)?
    var onCanSendMore: ((HTTP2Session, Int32) -> Void)?

    func http2Session(_ s: HTTP2Session, write bytes: UnsafeRawBufferPointer) {
        outbox.append(contentsOf: bytes)
    }
    func http2Session(_ s: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool) {
        events.append(.headers(stream: stream, endStream: endStream, isTrailer: isTrailer))
        self.headers[stream, default: []].append(headers)
        onHeaders?(s, headers, stream)
    }
    func http2Session(_ s: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        if keepBodies { bodies[stream, default: []].append(contentsOf: bytes) }
        hashes[stream, default: Checksum()].add(bytes)
        received[stream, default: 0] += bytes.count
        if autoConsume { s.consume(stream: stream, bytes: bytes.count) }
    }
    func http2Session(_ s: HTTP2Session, didReceiveEndStream stream: Int32) { events.append(.endStream(stream)) }
    func http2Session(_ s: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32) {
        events.append(.close(stream, errorCode))
    }
    func http2Session(_ s: HTTP2Session, streamCanSendMore stream: Int32) {
        events.append(.canSendMore(stream))
        onCanSendMore?(s, stream)
    }
    func http2Session(_ s: HTTP2Session, didReceiveGoAway lastStreamID: Int32, errorCode: UInt32) {
        events.append(.goAway(lastStreamID, errorCode))
    }
    func http2SessionDidReceivePingAck(_ s: HTTP2Session) { events.append(.pingAck) }

    func take() -> [UInt8] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }
}

/// FNV-1a over the byte stream, however it was split.
struct Checksum: Equatable {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    var count = 0
    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        value = h
        count += bytes.count
    }
}

/// A client and a server session wired back to back in memory.
final class Pair {
    let client: HTTP2Session
    let server: HTTP2Session
    let c = Peer()
    let s = Peer()

    init(client clientSettings: HTTP2Settings = .init(), server serverSettings: HTTP2Settings = .init(),
         start: Bool = true) throws {
        client = HTTP2Session(role: .client, delegate: c, settings: clientSettings)
        server = HTTP2Session(role: .server, delegate: s, settings: serverSettings)
        if start {
            try client.start()
            try server.start()
        }
    }

    /// Moves bytes both ways until neither side has anything more to say.
    func pump(file: StaticString = #filePath, line: UInt = #line) throws {
        client.flush()
        server.flush()
        var rounds = 0
        while !c.outbox.isEmpty || !s.outbox.isEmpty {
            let up = c.take()
            if !up.isEmpty { try server.receive(up) }
            let down = s.take()
            if !down.isEmpty { try client.receive(down) }
            client.flush()
            server.flush()
            rounds += 1
            if rounds > 100_000 { XCTFail("pump does not settle", file: file, line: line); return }
        }
    }
}

/// One frame as it went on the wire.
struct Frame: Equatable {
    var type: UInt8
    var flags: UInt8
    var stream: UInt32
    var payload: [UInt8]

    static let magic = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// Splits a byte stream into frames (after removing a client preface if asked).
    static func parse(_ bytes: [UInt8], skippingMagic: Bool = false) -> [Frame] {
        var i = skippingMagic ? magic.count : 0
        var frames: [Frame] = []
        while i + 9 <= bytes.count {
            let length = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            guard i + 9 + length <= bytes.count else { break }
            let stream = UInt32(bytes[i + 5] & 0x7f) << 24 | UInt32(bytes[i + 6]) << 16
                | UInt32(bytes[i + 7]) << 8 | UInt32(bytes[i + 8])
            frames.append(Frame(type: bytes[i + 3], flags: bytes[i + 4], stream: stream,
                                payload: Array(bytes[(i + 9)..<(i + 9 + length)])))
            i += 9 + length
        }
        return frames
    }

    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    /// SETTINGS entries as (id, value).
    var settings: [(UInt16, UInt32)] {
        stride(from: 0, to: payload.count - 5, by: 6).map {
            (UInt16(payload[$0]) << 8 | UInt16(payload[$0 + 1]), Frame.u32(payload, $0 + 2))
        }
    }
}

enum FrameType {
    static let data: UInt8 = 0, headers: UInt8 = 1, rstStream: UInt8 = 3, settings: UInt8 = 4
    static let ping: UInt8 = 6, goAway: UInt8 = 7, windowUpdate: UInt8 = 8
}

func request(_ method: String = "POST", path: String = "/exec/ns/pod/c?command=date&output=1",
             extra: [HTTP2Header] = []) -> [HTTP2Header] {
    [HTTP2Header(":method", method), HTTP2Header(":scheme", "http"),
     HTTP2Header(":authority", "gw.example"), HTTP2Header(":path", path)] + extra
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
