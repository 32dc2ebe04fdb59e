import CNghttp2

/// What a session advertises to its peer, plus the local knobs that shape its buffering.
public struct HTTP2Settings: Sendable, Equatable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams the peer may open toward us.
    public var maxConcurrentStreams: UInt32
    /// SETTINGS_INITIAL_WINDOW_SIZE: per-stream receive window (credited back only by `consume`).
    public var initialWindowSize: UInt32
    /// SETTINGS_MAX_HEADER_LIST_SIZE; also enforced on received header blocks (RST_STREAM PROTOCOL_ERROR).
    public var maxHeaderListSize: UInt32
    /// SETTINGS_MAX_FRAME_SIZE: the largest frame payload the peer may send us, 16,384 to 2^24-1
    /// (RFC 9113 §6.5.2); announced only above 16,384. A reader of bulk output raises it: every
    /// frame costs a header, a callback and bookkeeping in each process on the path, so a relayed
    /// stream in 128 KiB frames pays that an eighth as often as in 16 KiB ones.
    public var maxFrameSize: UInt32
    /// The largest DATA payload we write in one frame when the peer allows more than 16,384.
    /// nghttp2 keeps a frame buffer of the largest size a connection sent, so this also bounds that.
    public var maxSendFrameSize: Int
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441): accept `:protocol` on CONNECT. Server role only.
    public var enableConnectProtocol: Bool
    /// Connection-level receive window. Larger than one stream's window so a stalled stream (stdin
    /// the backend does not take) cannot starve the others (resize) of connection credit.
    public var connectionWindowSize: Int32
    /// A stream's outgoing queue at or above this many bytes tells the producer to stop.
    public var sendHighWater: Int
    /// ... and `streamCanSendMore` fires once it has drained to this many bytes.
    public var sendLowWater: Int

    public init(maxConcurrentStreams: UInt32 = 16,
                initialWindowSize: UInt32 = 65_535,
                maxHeaderListSize: UInt32 = 65_536,
                maxFrameSize: UInt32 = 16_384,
                maxSendFrameSize: Int = 128 * 1024,
                enableConnectProtocol: Bool = false,
                connectionWindowSize: Int32 = 1 << 20,
                sendHighWater: Int = 64 << 10,
                sendLowWater: Int = 16 << 10) {
        self.maxConcurrentStreams = maxConcurrentStreams
        self.initialWindowSize = initialWindowSize
        self.maxHeaderListSize = maxHeaderListSize
        self.maxFrameSize = min(max(maxFrameSize, 16_384), (1 << 24) - 1)
        self.maxSendFrameSize = max(maxSendFrameSize, 16_384)
        self.enableConnectProtocol = enableConnectProtocol
        self.connectionWindowSize = connectionWindowSize
        self.sendHighWater = sendHighWater
        self.sendLowWater = sendLowWater
    }

    /// The SETTINGS entries in the order they go on the wire. A client turns server push off; only a
    /// server may offer extended CONNECT.
    func entries(isServer: Bool) -> [nghttp2_settings_entry] {
        var list: [nghttp2_settings_entry] = []
        func add(_ id: nghttp2_settings_id, _ value: UInt32) {
            list.append(nghttp2_settings_entry(settings_id: Int32(id.rawValue), value: value))
        }
        if !isServer { add(NGHTTP2_SETTINGS_ENABLE_PUSH, 0) }
        add(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, maxConcurrentStreams)
        add(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, initialWindowSize)
        add(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, maxHeaderListSize)
        if maxFrameSize > 16_384 { add(NGHTTP2_SETTINGS_MAX_FRAME_SIZE, min(maxFrameSize, (1 << 24) - 1)) }
        if isServer && enableConnectProtocol { add(NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1) }
        return list
    }
}
