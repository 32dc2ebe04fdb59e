/// Bounds on what a peer can make us hold, and sizes of what we send.
public struct SPDYLimits: Hashable, Sendable {
    /// Largest inflated header block accepted (a zlib bomb costs its sender nothing).
    public var maxHeaderBlockSize: Int = 256 * 1024
    /// Largest control frame (declared length) accepted; control frames are buffered whole.
    public var maxControlFrameSize: Int = 256 * 1024
    /// Largest inbound DATA frame (declared length); larger ones are skipped and answered with FRAME_TOO_LARGE.
    public var maxDataFrameSize: Int = 1024 * 1024
    /// Largest DATA frame we send; longer payloads are split. spdystream allocates each frame whole.
    public var maxOutboundDataFrameSize: Int = 64 * 1024
    /// Streams the peer may hold open at once; more SYN_STREAMs are refused (REFUSED_STREAM).
    public var maxConcurrentStreams: Int = 100
    /// Own pings remembered while awaiting their echo; the oldest is forgotten beyond this.
    public var maxOutstandingPings: Int = 16
    /// Replenish the peer's view of our receive windows with WINDOW_UPDATE as DATA is delivered. Harmless to
    /// spdystream (it ignores them) and needed by a peer that really does SPDY/3.1 flow control.
    public var sendWindowUpdates: Bool = true
    /// zlib memLevel of the header compressor (1...9): 2 keeps its hash at 1 KiB; header blocks are small.
    public var compressionMemLevel: Int32 = 2

    public init() {}

    public init(maxHeaderBlockSize: Int = 256 * 1024, maxControlFrameSize: Int = 256 * 1024,
                maxDataFrameSize: Int = 1024 * 1024, maxOutboundDataFrameSize: Int = 64 * 1024,
                maxConcurrentStreams: Int = 100, maxOutstandingPings: Int = 16,
                sendWindowUpdates: Bool = true, compressionMemLevel: Int32 = 2)
    {
        self.maxHeaderBlockSize = maxHeaderBlockSize
        self.maxControlFrameSize = maxControlFrameSize
        self.maxDataFrameSize = maxDataFrameSize
        self.maxOutboundDataFrameSize = maxOutboundDataFrameSize
        self.maxConcurrentStreams = maxConcurrentStreams
        self.maxOutstandingPings = maxOutstandingPings
        self.sendWindowUpdates = sendWindowUpdates
        self.compressionMemLevel = compressionMemLevel
    }
}
