import CNghttp2

/// Opening, answering, feeding and ending streams; flow-control credit for received bodies.
extension HTTP2Session {
    /// Client: opens a stream. With `hasBody`, the body follows through `sendData` / `endStream` /
    /// `submitTrailers`; without it, HEADERS carries END_STREAM. Returns the stream id.
    @discardableResult
    public func submitRequest(headers: [HTTP2Header], hasBody: Bool) throws -> Int32 {
        guard role == .client else { throw HTTP2Error.invalidState("submitRequest is for the client role") }
        guard started else { throw HTTP2Error.invalidState("submitRequest before start") }
        var provider = Self.dataProvider
        let id = withNameValues(headers) { nva, count in
            hasBody ? nghttp2_submit_request(session, nil, nva, count, &provider, nil)
                    : nghttp2_submit_request(session, nil, nva, count, nil, nil)
        }
        try check(id)
        let state = StreamState(id: id)
        state.announced = true
        state.hasBody = hasBody
        streams[id] = state
        return id
    }

    /// Answers a stream (server) with HEADERS; body and end as for `submitRequest`.
    public func submitResponse(stream id: Int32, headers: [HTTP2Header], hasBody: Bool) throws {
        guard let state = streams[id] else { throw HTTP2Error.unknownStream(id) }
        var provider = Self.dataProvider
        let rv = withNameValues(headers) { nva, count in
            hasBody ? nghttp2_submit_response(session, id, nva, count, &provider)
                    : nghttp2_submit_response(session, id, nva, count, nil)
        }
        try check(rv)
        state.hasBody = hasBody
    }

    /// Ends a stream with trailers once its queued body has gone out. Needs a stream with a body.
    public func submitTrailers(stream id: Int32, headers: [HTTP2Header]) throws {
        let state = try writableStream(id)
        state.trailers = headers
        state.ended = true
        resumeIfDeferred(state)
    }

    /// Queues a copy of `bytes` on the stream; nghttp2 pulls them as the peer's windows allow.
    /// Returns whether the producer may continue: false once `pendingBytes` reached the high-water
    /// mark (then `streamCanSendMore` follows when it drained to low water). Never drops bytes.
    @discardableResult
    public func sendData(_ bytes: UnsafeRawBufferPointer, stream id: Int32) throws -> Bool {
        let state = try writableStream(id)
        state.outgoing.append(bytes)
        resumeIfDeferred(state)
        if state.outgoing.count >= settings.sendHighWater {
            state.producerWaiting = true
            return false
        }
        return true
    }

    /// Convenience for byte arrays.
    @discardableResult
    public func sendData(_ bytes: [UInt8], stream id: Int32) throws -> Bool {
        try bytes.withUnsafeBytes { try sendData($0, stream: id) }
    }

    /// END_STREAM after the queued bytes (an empty DATA frame if nothing is queued).
    public func endStream(_ id: Int32) throws {
        let state = try writableStream(id)
        state.ended = true
        resumeIfDeferred(state)
    }

    /// Bytes queued on the stream and not yet written (held back by flow control or not yet flushed).
    public func pendingBytes(stream id: Int32) -> Int {
        streams[id]?.outgoing.count ?? 0
    }

    /// Credits `bytes` of received DATA back to the peer's stream window. The connection window was
    /// credited as the bytes arrived (`consumeConnection`): a stream whose consumer does not take its
    /// bytes holds only its own window, never the streams beside it. Ignored for closed streams.
    public func consume(stream id: Int32, bytes: Int) {
        guard let state = streams[id], bytes > 0 else { return }
        let n = min(bytes, state.unconsumed)
        guard n > 0 else { return }
        state.unconsumed -= n
        _ = nghttp2_session_consume_stream(session, id, n)
    }

    /// Credits `bytes` back to the peer's connection window only.
    public func consumeConnection(bytes: Int) {
        guard bytes > 0 else { return }
        _ = nghttp2_session_consume_connection(session, bytes)
    }

    /// The stream is open here (announced or submitted, and not yet closed).
    public func isOpen(stream id: Int32) -> Bool {
        streams[id] != nil
    }

    /// Server: the response is complete without the rest of the request. Right after its end is
    /// sent, if the client is still sending, RST_STREAM(NO_ERROR) asks it to stop without error
    /// (RFC 9113 §8.1): the response stands.
    public func resetAfterResponse(stream id: Int32) {
        streams[id]?.resetAfterEnd = true
        mayResetAfterEnd = true
    }

    /// The peer may still send on the stream (it is open and the peer has not ended its side).
    public func peerMaySend(stream id: Int32) -> Bool {
        streams[id] != nil && nghttp2_session_find_stream(session, id) != nil
            && nghttp2_session_get_stream_remote_close(session, id) == 0
    }

    /// RST_STREAM with `errorCode`; the queued body is dropped when the stream closes.
    public func resetStream(_ id: Int32, errorCode: UInt32) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, errorCode)
    }
}
