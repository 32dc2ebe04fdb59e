/// Which side initiates a session's streams with odd ids: the client.
public enum SPDYRole: Sendable, Hashable {
    case server
    case client
}

/// What the session knows of one live stream. A stream disappears (state nil) once both sides closed it or
/// it was reset.
public struct SPDYStreamState: Hashable, Sendable {
    /// We sent its SYN_STREAM.
    public var isLocallyInitiated: Bool
    /// The SYN_REPLY was exchanged: sent by us for an accepted stream, received for one we opened.
    public var isReplied: Bool
    /// We sent FIN.
    public var isLocalClosed: Bool
    /// The peer sent FIN.
    public var isRemoteClosed: Bool
    /// Our send window as the peer sees it (tracked always, enforced only once the peer does flow control).
    public var sendWindow: Int
    /// Bytes received on the stream and not yet credited back with WINDOW_UPDATE.
    var receivedUnacknowledged = 0
}

/// Recently closed streams and how they closed, so that late frames on a stream we reset are ignored (no RST
/// storm) while frames after a clean close get STREAM_ALREADY_CLOSED. Bounded ring.
struct ClosedStreamLog {
    private var ids: [UInt32] = []
    private var wasReset: [Bool] = []
    private var next = 0
    private let capacity = 64

    mutating func add(_ id: UInt32, reset: Bool) {
        if ids.count < capacity {
            ids.append(id)
            wasReset.append(reset)
        } else {
            ids[next] = id
            wasReset[next] = reset
            next = (next + 1) % capacity
        }
    }

    /// nil when unknown; otherwise whether the stream ended by reset.
    func lookup(_ id: UInt32) -> Bool? {
        guard let i = ids.lastIndex(of: id) else { return nil }
        return wasReset[i]
    }
}
