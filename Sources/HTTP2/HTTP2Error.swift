/// Why a session call failed.
public enum HTTP2Error: Error, Equatable, Sendable {
    /// The peer broke the protocol; a GOAWAY with `errorCode` has been written. The connection is done.
    case connectionError(errorCode: UInt32, message: String)
    /// nghttp2 refused a call or failed fatally (`code` is an `nghttp2_error`, `message` its text).
    case library(code: Int32, message: String)
    /// The stream is not (or no longer) known to this session.
    case unknownStream(Int32)
    /// The stream has no outgoing body (submitted without one) or its end was already requested.
    case streamNotWritable(Int32)
    /// The call does not fit this role or this point of the session's life.
    case invalidState(String)
    /// `receive` was called from inside a delegate callback of the same session.
    case reentrantReceive
}
