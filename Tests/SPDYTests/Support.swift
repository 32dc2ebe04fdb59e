import XCTest
@testable import SPDY

func hex(_ s: String) -> [UInt8] {
    let digits = s.filter { !$0.isWhitespace }
    var out: [UInt8] = []
    var i = digits.startIndex
    while i < digits.endIndex {
        let j = digits.index(i, offsetBy: 2)
        out.append(UInt8(digits[i..<j], radix: 16)!)
        i = j
    }
    return out
}

func hexString(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined(separator: " ") }

/// Wire vectors of exec-protocols.md section 4 (spdystream's framer).
enum Vectors {
    static let synStream1Error = hex("""
        80 03 00 01 00 00 00 29 00 00 00 01 00 00 00 00 00 00 78 f9 e3 c6 a7 c2
        62 60 60 60 04 a7 b3 92 a2 d4 c4 5c 68 51 c2 9a 0a 0a 68 00 00 00 00 ff ff
        """)
    static let synStream3Stdout = hex("80 03 00 01 00 00 00 19 00 00 00 03 00 00 00 00 00 00 c2 2a c5 56 5c 92 92 5f 5a 02 00 00 00 ff ff")
    static let synReply1Empty = hex("80 03 00 02 00 00 00 14 00 00 00 01 78 f9 e3 c6 a7 c2 62 60 60 60 00 00 00 00 ff ff")
    static let dataFin1 = hex("00 00 00 01 01 00 00 00")
    static let rstCancel1 = hex("80 03 00 03 00 00 00 08 00 00 00 01 00 00 00 05")
    static let ping1 = hex("80 03 00 06 00 00 00 04 00 00 00 01")
    static let goAway0OK = hex("80 03 00 07 00 00 00 08 00 00 00 00 00 00 00 00")
    static let windowUpdate0 = hex("80 03 00 09 00 00 00 08 00 00 00 00 00 01 00 00")
}

/// Builds raw frames for hostile or odd input the encoder refuses to produce.
enum Raw {
    static func control(type: UInt16, version: UInt16 = 3, flags: UInt8 = 0, body: [UInt8]) -> [UInt8] {
        var b: [UInt8] = []
        b.appendBE16(0x8000 | version)
        b.appendBE16(type)
        b.appendBE32(UInt32(flags) << 24 | UInt32(body.count))
        return b + body
    }

    static func controlHeader(type: UInt16, length: Int) -> [UInt8] {
        var b: [UInt8] = []
        b.appendBE16(0x8003)
        b.appendBE16(type)
        b.appendBE32(UInt32(length))
        return b
    }

    static func data(_ id: UInt32, _ payload: [UInt8], fin: Bool = false) -> [UInt8] {
        SPDYDataFrameHeader(streamID: id, length: payload.count, fin: fin).bytes + payload
    }

    static func be32(_ v: UInt32) -> [UInt8] {
        var b: [UInt8] = []
        b.appendBE32(v)
        return b
    }
}

/// Records what a frame decoder reports; consecutive DATA chunks of one stream are merged so that different
/// splits of the same input compare equal.
final class FrameRecorder: SPDYFrameDecoderDelegate {
    enum Event: Equatable {
        case control(SPDYControlFrame)
        case malformed(SPDYControlType, UInt32)
        case begin(UInt32, Int, Bool)
        case data(UInt32, [UInt8])
        case end(UInt32, Bool)
        case oversized(UInt32, Int, Bool)
        case fail(SPDYError, UInt32)
    }

    var events: [Event] = []

    func frameDecoder(_ d: SPDYFrameDecoder, didDecode frame: SPDYControlFrame) { events.append(.control(frame)) }
    func frameDecoder(_ d: SPDYFrameDecoder, didReceiveMalformedHeaders type: SPDYControlType, streamID: UInt32,
                      flags: UInt8, error: SPDYError) { events.append(.malformed(type, streamID)) }
    func frameDecoder(_ d: SPDYFrameDecoder, didBeginData streamID: UInt32, length: Int, fin: Bool) {
        events.append(.begin(streamID, length, fin))
    }
    func frameDecoder(_ d: SPDYFrameDecoder, didReceiveData chunk: UnsafeRawBufferPointer, streamID: UInt32) {
        if case .data(let id, let bytes)? = events.last, id == streamID {
            events[events.count - 1] = .data(id, bytes + Array(chunk))
        } else {
            events.append(.data(streamID, Array(chunk)))
        }
    }
    func frameDecoder(_ d: SPDYFrameDecoder, didEndData streamID: UInt32, fin: Bool) { events.append(.end(streamID, fin)) }
    func frameDecoder(_ d: SPDYFrameDecoder, didSkipOversizedData streamID: UInt32, length: Int, fin: Bool) {
        events.append(.oversized(streamID, length, fin))
    }
    func frameDecoder(_ d: SPDYFrameDecoder, didFail error: SPDYError, streamID: UInt32) {
        events.append(.fail(error, streamID))
    }
}

/// The peer's view of one direction of a connection: a decoder with its own inflate stream.
final class FrameReader {
    let decoder: SPDYFrameDecoder
    let recorder = FrameRecorder()
    init(limits: SPDYLimits = SPDYLimits()) { decoder = SPDYFrameDecoder(limits: limits) }

    func read(_ bytes: [UInt8]) -> [FrameRecorder.Event] {
        recorder.events = []
        bytes.withUnsafeBytes { decoder.decode($0, delegate: recorder) }
        return recorder.events
    }
}

func decodeAll(_ bytes: [UInt8], limits: SPDYLimits = SPDYLimits()) -> [FrameRecorder.Event] {
    FrameReader(limits: limits).read(bytes)
}

/// Records session events and the bytes the session writes.
final class SessionRecorder: SPDYSessionDelegate {
    enum Event: Equatable {
        case open(UInt32, SPDYHeaders, Bool)
        case reply(UInt32, SPDYHeaders, Bool)
        case headers(UInt32, SPDYHeaders, Bool)
        case data(UInt32, [UInt8])
        case fin(UInt32)
        case reset(UInt32, SPDYRstStatus, byPeer: Bool)
        case goAway(UInt32, SPDYGoAwayStatus)
        case pingAck(UInt32)
        case window(UInt32)
        case settings([SPDYSetting])
        case fail(SPDYError)
    }

    var events: [Event] = []
    var out: [UInt8] = []
    var onOpen: ((SPDYSession, UInt32, SPDYHeaders) -> Void)?
    var recordWindows = false

    /// Takes what was written so far.
    func take() -> [UInt8] {
        defer { out = [] }
        return out
    }

    func takeEvents() -> [Event] {
        defer { events = [] }
        return events
    }

    func spdySession(_ s: SPDYSession, write bytes: UnsafeRawBufferPointer) { out.append(contentsOf: bytes) }
    func spdySession(_ s: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {
        events.append(.open(id, headers, fin))
        onOpen?(s, id, headers)
    }
    func spdySession(_ s: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {
        events.append(.reply(id, headers, fin))
    }
    func spdySession(_ s: SPDYSession, didReceiveHeaders id: UInt32, headers: SPDYHeaders, fin: Bool) {
        events.append(.headers(id, headers, fin))
    }
    func spdySession(_ s: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {
        if case .data(let last, let prior)? = events.last, last == id {
            events[events.count - 1] = .data(id, prior + Array(bytes))
        } else {
            events.append(.data(id, Array(bytes)))
        }
    }
    func spdySession(_ s: SPDYSession, didReceiveFin id: UInt32) { events.append(.fin(id)) }
    func spdySession(_ s: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {
        events.append(.reset(id, status, byPeer: byPeer))
    }
    func spdySession(_ s: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {
        events.append(.goAway(lastGoodStreamID, status))
    }
    func spdySession(_ s: SPDYSession, didReceivePingAck id: UInt32) { events.append(.pingAck(id)) }
    func spdySession(_ s: SPDYSession, didUpdateSendWindow id: UInt32) {
        if recordWindows { events.append(.window(id)) }
    }
    func spdySession(_ s: SPDYSession, didReceiveSettings settings: [SPDYSetting]) { events.append(.settings(settings)) }
    func spdySession(_ s: SPDYSession, didFail error: SPDYError) { events.append(.fail(error)) }
}

/// A session under test plus the peer's encoder (to build its input) and reader (to decode its output).
final class SessionHarness {
    let recorder = SessionRecorder()
    let session: SPDYSession
    let peerEncoder = SPDYFrameEncoder()
    let peerReader: FrameReader

    init(role: SPDYRole, limits: SPDYLimits = SPDYLimits()) {
        session = SPDYSession(role: role, limits: limits, delegate: recorder)
        peerReader = FrameReader()
    }

    /// Feeds frames the peer would send.
    func receive(_ frames: SPDYControlFrame...) {
        for f in frames { session.receive(try! peerEncoder.encode(f)) }
    }

    func receive(raw: [UInt8]) { session.receive(raw) }

    /// Decodes everything the session wrote since the last call.
    func written() -> [FrameRecorder.Event] { peerReader.read(recorder.take()) }

    func events() -> [SessionRecorder.Event] { recorder.takeEvents() }
}

/// A client session and a server session wired back to back in memory.
final class SessionPair {
    let clientRecorder = SessionRecorder()
    let serverRecorder = SessionRecorder()
    let client: SPDYSession
    let server: SPDYSession

    init(limits: SPDYLimits = SPDYLimits()) {
        client = SPDYSession(role: .client, limits: limits, delegate: clientRecorder)
        server = SPDYSession(role: .server, limits: limits, delegate: serverRecorder)
    }

    /// Moves bytes both ways until neither side has anything left to say.
    func pump() {
        while true {
            let toServer = clientRecorder.take()
            let toClient = serverRecorder.take()
            if toServer.isEmpty && toClient.isEmpty { return }
            if !toServer.isEmpty { server.receive(toServer) }
            if !toClient.isEmpty { client.receive(toClient) }
        }
    }
}

/// Adler-32, written out here so the dictionary check does not trust the zlib the codec uses.
func adler32(_ bytes: [UInt8]) -> UInt32 {
    var a: UInt32 = 1, b: UInt32 = 0
    for x in bytes {
        a = (a + UInt32(x)) % 65521
        b = (b + a) % 65521
    }
    return b << 16 | a
}

/// Only the DATA frame starts: keeps failure messages free of payload dumps.
func dataBegins(_ events: [FrameRecorder.Event]) -> [FrameRecorder.Event] {
    events.filter { if case .begin = $0 { return true } else { return false } }
}
