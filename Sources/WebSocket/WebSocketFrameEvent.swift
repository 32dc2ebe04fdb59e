/// What the decoder found. Data messages stream: `messageStart`, any number of `data` chunks
/// (possibly none, and not aligned to frames), then `messageEnd`; control frames may come between
/// them. Control payloads arrive whole (≤ 125 bytes).
///
/// Buffers are borrowed: valid only until the next call to `WebSocketFrameDecoder.next(_:)` and
/// while the input passed to it is alive. Copy what must outlive that.
public enum WebSocketFrameEvent {
    /// A text or binary message begins.
    case messageStart(WebSocketOpcode)
    /// Unmasked payload bytes of the current message (text already checked as UTF-8 so far).
    case data(UnsafeRawBufferPointer)
    /// The current message ended (text ended on a whole UTF-8 sequence).
    case messageEnd
    case ping(UnsafeRawBufferPointer)
    case pong(UnsafeRawBufferPointer)
    /// A close frame; `code` is nil when the frame had no payload.
    case close(code: WebSocketCloseCode?, reason: String)
}
