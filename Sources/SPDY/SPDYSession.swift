/// One SPDY/3.1 connection, either role: framing, header compression (one zlib stream per direction), the
/// stream table, id rules, PING, GOAWAY and SPDY/3.1 flow control. Knows nothing of sockets: feed it bytes with
/// `receive`, and it hands bytes to send to `SPDYSessionDelegate.spdySession(_:write:)`. Not thread-safe:
/// confine it to one thread (its connection's loop).
public final class SPDYSession {
    public let role: SPDYRole
    public let limits: SPDYLimits
    public weak var delegate: (any SPDYSessionDelegate)?

    let decoder: SPDYFrameDecoder
    let encoder: SPDYFrameEncoder
    private var sink: DecoderSink!

    var streams: [UInt32: SPDYStreamState] = [:]
    var closedStreams = ClosedStreamLog()
    var nextStreamID: UInt32
    /// The highest stream id the peer opened (the last-good id of our GOAWAY).
    public internal(set) var lastPeerStreamID: UInt32 = 0
    var nextPingID: UInt32
    var outstandingPings: [UInt32] = []

    public internal(set) var goAwaySent = false
    public internal(set) var goAwayReceived = false
    public internal(set) var hasFailed = false
    /// No new streams either way: a GOAWAY went out or came in, or the session failed.
    public var isGoingAway: Bool { goAwaySent || goAwayReceived || hasFailed }

    /// Set once the peer sends SETTINGS INITIAL_WINDOW_SIZE or WINDOW_UPDATE; only then do send windows
    /// limit `sendData` (spdystream never does flow control).
    public internal(set) var isFlowControlActive = false
    /// We told the peer our receive window (SETTINGS INITIAL_WINDOW_SIZE): we must credit it back.
    var announcedWindows = false
    /// Whether received DATA is credited back with WINDOW_UPDATE: only when flow control is in use on the
    /// connection, by the peer or by our own announcement.
    var creditsReceivedData: Bool { limits.sendWindowUpdates && (isFlowControlActive || announcedWindows) }
    var sessionSendWindow = SPDYWire.defaultWindow
    var peerInitialWindow = SPDYWire.defaultWindow
    var ourInitialWindow = SPDYWire.defaultWindow
    var sessionReceivedUnacknowledged = 0
    var peerMaxConcurrentStreams = Int.max
    /// Stream whose DATA payload is being delivered (nil: the current frame's payload is discarded).
    var deliveringStream: UInt32?

    private var receiving = false
    private var pendingInput: [UInt8] = []
    private var writing = false
    private var pendingOutput: [UInt8] = []

    public init(role: SPDYRole, limits: SPDYLimits = SPDYLimits(), delegate: any SPDYSessionDelegate) {
        self.role = role
        self.limits = limits
        self.delegate = delegate
        decoder = SPDYFrameDecoder(limits: limits)
        encoder = SPDYFrameEncoder(maxHeaderBlockSize: limits.maxHeaderBlockSize,
                                   compressionMemLevel: limits.compressionMemLevel)
        nextStreamID = role == .client ? 1 : 2
        nextPingID = role == .client ? 1 : 2
        sink = DecoderSink(session: self)
    }

    // MARK: Input

    /// Feeds bytes read from the peer; callbacks fire synchronously. Ignored once the session failed.
    /// Re-entrant calls (from a callback) are queued and processed in order after the current input.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        guard !hasFailed, !bytes.isEmpty else { return }
        if receiving {
            pendingInput.append(contentsOf: bytes)
            return
        }
        receiving = true
        defer { receiving = false }
        decoder.decode(bytes, delegate: sink)
        while !pendingInput.isEmpty && !hasFailed {
            let more = pendingInput
            pendingInput = []
            more.withUnsafeBytes { decoder.decode($0, delegate: sink) }
        }
        pendingInput = []
    }

    public func receive(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { receive($0) }
    }

    // MARK: Queries

    public func streamState(_ id: UInt32) -> SPDYStreamState? { streams[id] }

    /// Ids of the live streams, ascending.
    public var streamIDs: [UInt32] { streams.keys.sorted() }

    /// How many payload bytes `sendData` would send on `id` now; nil when not limited (the peer does no flow
    /// control) or the stream is unknown.
    public func sendWindow(for id: UInt32) -> Int? {
        guard isFlowControlActive, let s = streams[id] else { return nil }
        return max(0, min(sessionSendWindow, s.sendWindow))
    }

    // MARK: Output plumbing

    /// Hands bytes to the delegate. A write requested while the delegate is inside `write` is queued (copied)
    /// and delivered right after, so frames never interleave.
    func emit(_ bytes: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer? = nil) {
        if writing {
            pendingOutput.append(contentsOf: bytes)
            if let second { pendingOutput.append(contentsOf: second) }
            return
        }
        writing = true
        defer { writing = false }
        delegate?.spdySession(self, write: bytes)
        if let second, !second.isEmpty { delegate?.spdySession(self, write: second) }
        while !pendingOutput.isEmpty {
            let queued = pendingOutput
            pendingOutput = []
            queued.withUnsafeBytes { delegate?.spdySession(self, write: $0) }
        }
    }

    /// Encodes and sends a control frame; encoding errors (only possible for caller-supplied input) throw
    /// before anything is compressed or written.
    func sendControl(_ frame: SPDYControlFrame) throws {
        var bytes: [UInt8] = []
        try encoder.encode(frame, into: &bytes)
        bytes.withUnsafeBytes { emit($0) }
    }

    /// For frames built from values we already validated.
    func sendControlUnchecked(_ frame: SPDYControlFrame) {
        do { try sendControl(frame) } catch { assertionFailure("unexpected encode failure: \(error)") }
    }

    func sendRst(_ id: UInt32, _ status: SPDYRstStatus) {
        guard id != 0, id <= SPDYWire.maxStreamID else { return }
        sendControlUnchecked(.rstStream(streamID: id, status: status))
    }

    /// Connection-level error: GOAWAY with the last good id, then `didFail`. The session is dead afterwards.
    func fail(_ error: SPDYError) {
        guard !hasFailed else { return }
        hasFailed = true
        decoder.stop()
        sendControlUnchecked(.goAway(lastGoodStreamID: lastPeerStreamID, status: error.goAwayStatus))
        goAwaySent = true
        streams.removeAll()
        delegate?.spdySession(self, didFail: error)
    }

    func isPeerStreamID(_ id: UInt32) -> Bool { (id & 1 == 1) == (role == .server) }
    func isOwnPingID(_ id: UInt32) -> Bool { (id & 1 == 1) == (role == .client) }

    /// Drops a stream both sides have closed.
    func removeIfClosed(_ id: UInt32) {
        guard let s = streams[id], s.isLocalClosed, s.isRemoteClosed else { return }
        streams[id] = nil
        closedStreams.add(id, reset: false)
    }

    /// Resets a stream for a protocol error of the peer's and tells the delegate if it knew the stream.
    func resetForError(_ id: UInt32, _ status: SPDYRstStatus) {
        sendRst(id, status)
        if streams.removeValue(forKey: id) != nil {
            closedStreams.add(id, reset: true)
            delegate?.spdySession(self, didResetStream: id, status: status, byPeer: false)
        } else {
            closedStreams.add(id, reset: true)
        }
    }
}

/// Adapter so the decoder's callbacks stay out of SPDYSession's public interface.
private final class DecoderSink: SPDYFrameDecoderDelegate {
    unowned let session: SPDYSession
    init(session: SPDYSession) { self.session = session }

    func frameDecoder(_ d: SPDYFrameDecoder, didDecode frame: SPDYControlFrame) {
        session.handleControl(frame)
    }
    func frameDecoder(_ d: SPDYFrameDecoder, didReceiveMalformedHeaders type: SPDYControlType, streamID: UInt32,
                      flags: UInt8, error: SPDYError)
    {
        session.handleMalformedHeaders(type, streamID)
    }
    func frameDecoder(_ d: SPDYFrameDecoder, didBeginData streamID: UInt32, length: Int, fin: Bool) {
        session.handleDataBegin(streamID)
    }
    func frameDecoder(_ d: SPDYFrameDecoder, didReceiveData chunk: UnsafeRawBufferPointer, streamID: UInt32) {
        session.handleDataChunk(chunk, streamID)
    }
    func frameDecoder(_ d: SPDYFrameDecoder, didEndData streamID: UInt32, fin: Bool) {
        session.handleDataEnd(streamID, fin: fin)
    }
    func frameDecoder(_ d: SPDYFrameDecoder, didSkipOversizedData streamID: UInt32, length: Int, fin: Bool) {
        session.handleOversizedData(streamID, length: length)
    }
    func frameDecoder(_ d: SPDYFrameDecoder, didFail error: SPDYError, streamID: UInt32) {
        if case .unsupportedVersion = error, streamID != 0 { session.sendRst(streamID, .unsupportedVersion) }
        session.fail(error)
    }
}
