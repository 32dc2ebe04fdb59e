/// Events of a `SPDYSession`, delivered synchronously from `receive` (and `write` from every sending call).
///
/// `fin: true` on didOpenStream / didReceiveReply / didReceiveHeaders means the peer half-closed with that frame;
/// `didReceiveFin` reports only a FIN carried by DATA. Do not call the session's sending methods from inside
/// `write` (they would be queued behind the current write, which is safe but pointless); everything else may.
public protocol SPDYSessionDelegate: AnyObject {
    /// Bytes to send, in order. Borrowed: copy or write them before returning.
    func spdySession(_ session: SPDYSession, write bytes: UnsafeRawBufferPointer)
    /// The peer opened a stream (SYN_STREAM). Reply with `reply(to:)` before sending DATA on it.
    func spdySession(_ session: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool)
    /// The peer answered a stream we opened (SYN_REPLY).
    func spdySession(_ session: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool)
    func spdySession(_ session: SPDYSession, didReceiveHeaders id: UInt32, headers: SPDYHeaders, fin: Bool)
    /// Payload of a DATA frame, possibly in several pieces. Borrowed: valid only during the call.
    func spdySession(_ session: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32)
    /// The peer half-closed the stream with a DATA FIN.
    func spdySession(_ session: SPDYSession, didReceiveFin id: UInt32)
    /// The stream is gone: reset by the peer (`byPeer`), or by us for a protocol error (RST_STREAM already
    /// written). Not called for resets the caller asked for with `reset(_:status:)`.
    func spdySession(_ session: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool)
    /// The peer will accept no new streams. Streams we opened above `lastGoodStreamID` were then reported as
    /// reset (REFUSED_STREAM, byPeer).
    func spdySession(_ session: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus)
    /// The echo of one of our `ping()`s.
    func spdySession(_ session: SPDYSession, didReceivePingAck id: UInt32)
    /// The peer enlarged a send window (id 0: the session's); blocked `sendData` may resume.
    func spdySession(_ session: SPDYSession, didUpdateSendWindow id: UInt32)
    func spdySession(_ session: SPDYSession, didReceiveSettings settings: [SPDYSetting])
    /// A connection-level error; GOAWAY is already written and the session is dead. Close the connection.
    func spdySession(_ session: SPDYSession, didFail error: SPDYError)
}

extension SPDYSessionDelegate {
    public func spdySession(_ session: SPDYSession, didReceiveHeaders id: UInt32, headers: SPDYHeaders, fin: Bool) {}
    public func spdySession(_ session: SPDYSession, didReceivePingAck id: UInt32) {}
    public func spdySession(_ session: SPDYSession, didUpdateSendWindow id: UInt32) {}
    public func spdySession(_ session: SPDYSession, didReceiveSettings settings: [SPDYSetting]) {}
}
