/// What nghttp2's callbacks read or write for nearly every frame: the delegate, the stream table,
/// the header block being received, whether the session halted, the peer's stream ids. Kept behind
/// a pointer the session owns rather than as stored properties: on a class every such access paid
/// Swift's dynamic exclusivity check (a thread-local access set, ~80 instructions), some 45 per
/// request, more than the work they guarded. Safe without it: the session is confined to one
/// thread, and every access below is a short lookup or store that calls out to nothing meanwhile.
struct SessionHotState: ~Copyable {
    weak var delegate: HTTP2SessionDelegate?
    var streams: [Int32: StreamState] = [:]
    var headerArena = HeaderArena()
    var isHalted = false
    var peerStreams = PeerStreamWindow()

    init(delegate: HTTP2SessionDelegate?) {
        self.delegate = delegate
    }
}

extension HTTP2Session {
    public var delegate: HTTP2SessionDelegate? {
        get { hot.pointee.delegate }
        set { hot.pointee.delegate = newValue }
    }

    var streams: [Int32: StreamState] {
        _read { yield hot.pointee.streams }
        _modify { yield &hot.pointee.streams }
    }

    var headerArena: HeaderArena {
        _read { yield hot.pointee.headerArena }
        _modify { yield &hot.pointee.headerArena }
    }

    /// The owner stopped listening (its connection closed, or is closing): nghttp2 is fed nothing
    /// more, and a callback still running inside the current `receive` aborts it.
    public internal(set) var isHalted: Bool {
        get { hot.pointee.isHalted }
        set { hot.pointee.isHalted = newValue }
    }
}
