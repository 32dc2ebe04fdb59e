/// What the session keeps per open stream.
final class StreamState {
    let id: Int32
    /// A header block has already been delivered: the next one is informational or trailers.
    var sawHeaders = false
    /// The delegate knows this stream (headers delivered, or submitted by us): close is reported.
    var announced = false

    /// A data provider is attached: the stream's body is ours to send.
    var hasBody = false
    var outgoing = ByteRing()
    /// `endStream` or `submitTrailers` was called: END_STREAM goes out once `outgoing` is empty.
    var ended = false
    var trailers: [HTTP2Header]? = nil
    /// nghttp2 parked the data provider (queue was empty); bytes or the end must resume it.
    var deferred = false
    /// The queue reached the high-water mark; tell the producer when it drains to low water.
    var producerWaiting = false

    /// Once our end of the stream is sent, RST_STREAM(NO_ERROR) if the peer is still sending.
    var resetAfterEnd = false

    /// Received DATA bytes not yet credited back to the peer.
    var unconsumed = 0

    init(id: Int32) { self.id = id }
}
