/// Everything a session reports. All calls happen synchronously inside `receive`, `flush` or another
/// session call, on the caller's thread. From inside them the delegate may call the session's submit,
/// send, consume, reset and flush methods (a flush there is deferred to the end of the outer call), but
/// not `receive`.
public protocol HTTP2SessionDelegate: AnyObject {
    /// Bytes to put on the wire, in order. The delegate must take them all (copy or queue them): the
    /// pointer is valid only during the call.
    func http2Session(_ session: HTTP2Session, write bytes: UnsafeRawBufferPointer)
    /// A complete header block. Server: a request (or trailers); client: a response (or trailers).
    /// `endStream`: no DATA follows (`didReceiveEndStream` still comes, right after).
    /// `isTrailer`: a header block after the first one on the stream, without pseudo-headers.
    func http2Session(_ session: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool)
    /// The same block as received bytes, valid only during the call; what the session calls. The
    /// default makes the `[HTTP2Header]` and calls `didReceiveHeaders`: a delegate that can answer
    /// from a field or two (a health probe) implements this and builds no Strings for them.
    func http2Session(_ session: HTTP2Session, didReceiveHeaderBlock block: HTTP2HeaderBlock, stream: Int32,
                      endStream: Bool, isTrailer: Bool)
    /// Body bytes, valid only during the call. They count against the flow-control windows until
    /// `consume(stream:bytes:)`.
    func http2Session(_ session: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32)
    /// The peer ended its side of the stream (END_STREAM on HEADERS or DATA).
    func http2Session(_ session: HTTP2Session, didReceiveEndStream stream: Int32)
    /// The stream is gone (both sides ended, or reset by either side: `errorCode` says which code).
    /// Only reported for streams the delegate has seen (received headers, or submitted itself).
    func http2Session(_ session: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32)
    /// The stream's outgoing queue, after reaching the high-water mark, drained to the low-water mark:
    /// the producer may send again.
    func http2Session(_ session: HTTP2Session, streamCanSendMore stream: Int32)
    /// The peer sent GOAWAY: streams above `lastStreamID` were not processed and will be closed.
    func http2Session(_ session: HTTP2Session, didReceiveGoAway lastStreamID: Int32, errorCode: UInt32)
    /// The answer to `ping()` arrived.
    func http2SessionDidReceivePingAck(_ session: HTTP2Session)
}

extension HTTP2SessionDelegate {
    public func http2Session(_ session: HTTP2Session, didReceiveHeaderBlock block: HTTP2HeaderBlock, stream: Int32,
                             endStream: Bool, isTrailer: Bool) {
        http2Session(session, didReceiveHeaders: block.headers, stream: stream, endStream: endStream, isTrailer: isTrailer)
    }
    public func http2Session(_ session: HTTP2Session, didReceiveEndStream stream: Int32) {}
    public func http2Session(_ session: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32) {}
    public func http2Session(_ session: HTTP2Session, streamCanSendMore stream: Int32) {}
    public func http2Session(_ session: HTTP2Session, didReceiveGoAway lastStreamID: Int32, errorCode: UInt32) {}
    public func http2SessionDidReceivePingAck(_ session: HTTP2Session) {}
}
