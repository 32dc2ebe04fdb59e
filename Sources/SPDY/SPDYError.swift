/// Everything that can go wrong in the SPDY codec. Connection-level cases reach `didFail` after a GOAWAY was
/// written; API misuse is thrown from the sending methods and writes nothing.
public enum SPDYError: Error, Hashable, Sendable, CustomStringConvertible {
    // Connection-level (peer input).
    case protocolError(String)
    case unknownControlFrame(type: UInt16)
    case unsupportedVersion(UInt16)
    case controlFrameTooLarge(length: Int, limit: Int)
    case headerBlockTooLarge(limit: Int)
    case compression(String)

    // Stream-level (peer input), carried by decoder events, answered with RST_STREAM.
    case malformedHeaderBlock(String)

    // API misuse.
    case sessionFailed
    case goingAway
    case streamIDsExhausted
    case tooManyStreams(limit: Int)
    case unknownStream(UInt32)
    case notPeerInitiated(UInt32)
    case alreadyReplied(UInt32)
    /// DATA may only flow once the stream's SYN_REPLY was sent (accepted stream) or received (opened stream):
    /// spdystream silently drops DATA that precedes the reply.
    case notReplied(UInt32)
    case streamClosedForSending(UInt32)
    case invalidHeader(String)
    case invalidArgument(String)

    /// The GOAWAY status a connection-level error is answered with.
    /// Every connection-level error we detect is the peer's (a corrupt or hostile stream).
    var goAwayStatus: SPDYGoAwayStatus { .protocolError }

    public var description: String {
        switch self {
        case .protocolError(let s): return "SPDY protocol error: \(s)"
        case .unknownControlFrame(let t): return "unknown SPDY control frame type \(t)"
        case .unsupportedVersion(let v): return "unsupported SPDY version \(v)"
        case .controlFrameTooLarge(let n, let l): return "SPDY control frame of \(n) bytes exceeds \(l)"
        case .headerBlockTooLarge(let l): return "SPDY header block inflates past \(l) bytes"
        case .compression(let s): return "SPDY header compression: \(s)"
        case .malformedHeaderBlock(let s): return "malformed SPDY header block: \(s)"
        case .sessionFailed: return "SPDY session has failed"
        case .goingAway: return "SPDY session is going away"
        case .streamIDsExhausted: return "SPDY stream ids exhausted"
        case .tooManyStreams(let l): return "peer allows at most \(l) concurrent SPDY streams"
        case .unknownStream(let id): return "unknown SPDY stream \(id)"
        case .notPeerInitiated(let id): return "SPDY stream \(id) was not opened by the peer"
        case .alreadyReplied(let id): return "SPDY stream \(id) already replied"
        case .notReplied(let id): return "SPDY stream \(id) has no SYN_REPLY yet"
        case .streamClosedForSending(let id): return "SPDY stream \(id) is closed for sending"
        case .invalidHeader(let s): return "invalid SPDY header: \(s)"
        case .invalidArgument(let s): return "invalid argument: \(s)"
        }
    }
}
