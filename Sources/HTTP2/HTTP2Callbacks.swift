import CNghttp2

// nghttp2's callbacks: free functions (C function pointers cannot capture), finding their session
// through user_data. They run inside nghttp2_session_mem_recv / nghttp2_session_send.

extension HTTP2Session {
    static func installCallbacks(_ callbacks: OpaquePointer) {
        nghttp2_session_callbacks_set_send_callback(callbacks, writeFrameBytes)
        nghttp2_session_callbacks_set_send_data_callback(callbacks, writeDataFrame)
        nghttp2_session_callbacks_set_data_source_read_length_callback(callbacks, dataFrameLength)
        nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, beginFrame)
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, beginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, collectHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, frameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, dataChunkReceived)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, streamClosed)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, frameSent)
        nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, frameNotSent)
        nghttp2_session_callbacks_set_error_callback2(callbacks, libraryError)
    }
}

/// The session, unless it was halted: then every callback fails, which makes nghttp2 stop parsing
/// the buffer at once instead of reporting later frames to an owner that is gone.
@inline(__always)
private func owner(_ userData: UnsafeMutableRawPointer?) -> HTTP2Session? {
    guard let userData, Int(bitPattern: userData) > 1 else { return nil }
    let me = Unmanaged<HTTP2Session>.fromOpaque(userData).takeUnretainedValue()
    return me.isHalted ? nil : me
}

/// After a delegate call: 0, or failure if the delegate halted the session (nghttp2 must not read on:
/// the buffer it parses may belong to a connection that just closed).
@inline(__always)
private func afterDelegate(_ me: HTTP2Session) -> Int32 {
    me.isHalted ? callbackFailure : 0
}

private let callbackFailure = NGHTTP2_ERR_CALLBACK_FAILURE.rawValue
private let temporalFailure = NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue

private func writeFrameBytes(_ session: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ length: Int,
                             _ flags: Int32, _ userData: UnsafeMutableRawPointer?) -> Int {
    guard let me = owner(userData) else { return Int(callbackFailure) }
    me.write(UnsafeRawBufferPointer(start: data, count: length))
    return me.isHalted ? Int(callbackFailure) : length
}

/// Bodies go from the stream's queue straight to the delegate: header, then payload spans.
private func writeDataFrame(_ session: OpaquePointer?, _ frame: UnsafeMutablePointer<nghttp2_frame>?,
                            _ frameHeader: UnsafePointer<UInt8>?, _ length: Int,
                            _ source: UnsafeMutablePointer<nghttp2_data_source>?,
                            _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData), let frame, let frameHeader else { return callbackFailure }
    let id = frame.pointee.hd.stream_id
    guard let state = me.streams[id], state.outgoing.count >= length else { return temporalFailure }
    let padding = frame.pointee.data.padlen
    me.write(UnsafeRawBufferPointer(start: frameHeader, count: 9))
    if padding > 0 {
        var padLength = UInt8(truncatingIfNeeded: padding - 1)
        withUnsafeBytes(of: &padLength) { me.write($0) }
    }
    var remaining = length
    while remaining > 0 {
        // Re-read the span each time: a write may let the producer append, which can move storage.
        let span = state.outgoing.headSpan(max: remaining)
        guard span.count > 0 else { return callbackFailure }
        me.write(span)
        state.outgoing.drop(span.count)
        remaining -= span.count
    }
    if padding > 1 {
        let zeros = [UInt8](repeating: 0, count: padding - 1)
        zeros.withUnsafeBytes { me.write($0) }
    }
    if state.producerWaiting && state.outgoing.count <= me.settings.sendLowWater {
        state.producerWaiting = false
        me.drainedStreams.append(id)
    }
    return afterDelegate(me)
}

/// The DATA payload to send next, at most. nghttp2 alone sends 16,384 whatever the peer allows;
/// here a frame grows to the peer's SETTINGS_MAX_FRAME_SIZE, capped by `maxSendFrameSize` and by
/// half the peer's initial stream window (so that a second frame is in flight while the first is
/// credited back), and to no more than the stream has queued (nghttp2 grows its frame buffer to
/// the length returned here and keeps it). nghttp2 applies the flow-control windows after.
private func dataFrameLength(_ session: OpaquePointer?, _ frameType: UInt8, _ id: Int32, _ connectionWindow: Int32,
                             _ streamWindow: Int32, _ peerMaxFrame: UInt32,
                             _ userData: UnsafeMutableRawPointer?) -> Int {
    let standard = 16_384
    guard peerMaxFrame > standard, let me = owner(userData) else { return standard }
    let halfWindow = Int(nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE)) / 2
    let queued = me.streams[id]?.outgoing.count ?? 0
    return max(standard, min(Int(peerMaxFrame), me.settings.maxSendFrameSize, halfWindow, queued))
}

/// nghttp2 asks how much of the stream's body to send: hand it queue bytes without copying, park the
/// stream when the queue is empty, and end it (or hand over to trailers) once it is drained.
func readOutgoing(_ session: OpaquePointer?, _ id: Int32, _ buffer: UnsafeMutablePointer<UInt8>?,
                  _ length: Int, _ flags: UnsafeMutablePointer<UInt32>?,
                  _ source: UnsafeMutablePointer<nghttp2_data_source>?,
                  _ userData: UnsafeMutableRawPointer?) -> Int {
    guard let me = owner(userData), let flags, let state = me.streams[id] else { return Int(temporalFailure) }
    let queued = state.outgoing.count
    let n = min(length, queued)
    if n == 0 && !state.ended {
        state.deferred = true
        return Int(NGHTTP2_ERR_DEFERRED.rawValue)
    }
    if n > 0 { flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue }
    if n == queued && state.ended {
        flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
        if let trailers = state.trailers {
            let rv = withNameValues(trailers) { nghttp2_submit_trailer(session, id, $0, $1) }
            if rv == 0 { flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue }
            state.trailers = nil
        }
    }
    return n
}

/// Every frame header, before its payload: a server refuses a request on a stream id lower than
/// one the client already opened (nghttp2 would ignore it silently).
private func beginFrame(_ session: OpaquePointer?, _ hd: UnsafePointer<nghttp2_frame_hd>?,
                        _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData), let hd else { return callbackFailure }
    let id = hd.pointee.stream_id
    guard me.role == .server, hd.pointee.type == UInt8(NGHTTP2_HEADERS.rawValue), id > 0, id & 1 == 1 else { return 0 }
    if me.notePeerStream(id) { return 0 }
    me.lastLibraryMessage = "HEADERS on stream \(id), lower than the opened stream \(me.highestPeerStream)"
    me.rejectPeer(errorCode: HTTP2ErrorCode.protocolError, message: me.lastLibraryMessage)
    return callbackFailure
}

private func beginHeaders(_ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?,
                          _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData), let frame else { return callbackFailure }
    guard frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
    let id = frame.pointee.hd.stream_id
    let state: StreamState
    if let existing = me.streams[id] {
        state = existing
    } else {
        state = StreamState(id: id)
        me.streams[id] = state
    }
    me.headerArena.begin(stream: id)
    return 0
}

private func collectHeader(_ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?,
                           _ name: UnsafePointer<UInt8>?, _ nameLength: Int,
                           _ value: UnsafePointer<UInt8>?, _ valueLength: Int, _ flags: UInt8,
                           _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData), let frame else { return callbackFailure }
    guard frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
    let id = frame.pointee.hd.stream_id
    // The block's fields arrive one by one between beginHeaders and frameReceived, into the
    // connection's arena (blocks never interleave); a stream closed meanwhile collects nothing.
    guard me.headerArena.stream == id else { return 0 }
    // RFC 9113 §6.5.2 size: name + value + 32 per field. nghttp2 does not enforce our limit.
    if me.headerArena.account(nameLength: nameLength, valueLength: valueLength) > Int(me.settings.maxHeaderListSize) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, HTTP2ErrorCode.protocolError)
        return temporalFailure
    }
    me.headerArena.append(name: UnsafeRawBufferPointer(start: name, count: nameLength),
                          value: UnsafeRawBufferPointer(start: value, count: valueLength))
    return 0
}

private func frameReceived(_ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?,
                           _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData), let frame else { return callbackFailure }
    let hd = frame.pointee.hd
    let endStream = hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
    switch Int(hd.type) {
    case Int(NGHTTP2_HEADERS.rawValue):
        let collected = me.headerArena.stream == hd.stream_id
        me.headerArena.stream = 0
        guard let state = me.streams[hd.stream_id] else { return 0 }
        // The arena holds this stream's block only if it was collecting it.
        if !collected { me.headerArena.begin(stream: 0) }
        let block = me.headerArena.block
        // nghttp2 has checked that pseudo-headers lead: a later block without them is trailers.
        let isTrailer = frame.pointee.headers.cat == NGHTTP2_HCAT_HEADERS && !block.startsWithPseudoHeader
        state.sawHeaders = true
        state.announced = true
        me.delegate?.http2Session(me, didReceiveHeaderBlock: block, stream: hd.stream_id,
                                  endStream: endStream, isTrailer: isTrailer)
        if endStream, !me.isHalted { me.delegate?.http2Session(me, didReceiveEndStream: hd.stream_id) }
    case Int(NGHTTP2_DATA.rawValue):
        if endStream, me.streams[hd.stream_id]?.announced == true {
            me.delegate?.http2Session(me, didReceiveEndStream: hd.stream_id)
        }
    case Int(NGHTTP2_GOAWAY.rawValue):
        me.peerSentGoAway = true
        me.delegate?.http2Session(me, didReceiveGoAway: frame.pointee.goaway.last_stream_id,
                                  errorCode: frame.pointee.goaway.error_code)
    case Int(NGHTTP2_PING.rawValue):
        guard hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0 else { return 0 }
        let isShutdownPing = withUnsafeBytes(of: frame.pointee.ping.opaque_data) {
            $0.elementsEqual(HTTP2Session.shutdownPingData)
        }
        if isShutdownPing && me.shutdownStarted {
            me.submitFinalGoAway()
        } else {
            me.delegate?.http2SessionDidReceivePingAck(me)
        }
    default:
        break
    }
    return afterDelegate(me)
}

private func dataChunkReceived(_ session: OpaquePointer?, _ flags: UInt8, _ id: Int32,
                               _ data: UnsafePointer<UInt8>?, _ length: Int,
                               _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData) else { return callbackFailure }
    guard let state = me.streams[id], state.announced else {
        // Nobody will consume these: give the credit back at once.
        _ = nghttp2_session_consume(session, id, length)
        return 0
    }
    // The connection window comes back at once; only the stream window waits for the consumer.
    me.consumeConnection(bytes: length)
    state.unconsumed += length
    me.delegate?.http2Session(me, didReceiveData: UnsafeRawBufferPointer(start: data, count: length), stream: id)
    return afterDelegate(me)
}

private func streamClosed(_ session: OpaquePointer?, _ id: Int32, _ errorCode: UInt32,
                          _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData) else { return callbackFailure }
    guard let state = me.streams.removeValue(forKey: id) else { return 0 }
    if me.headerArena.stream == id { me.headerArena.stream = 0 }
    if state.announced { me.delegate?.http2Session(me, didCloseStream: id, errorCode: errorCode) }
    return afterDelegate(me)
}

private func frameSent(_ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?,
                       _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData), let frame else { return callbackFailure }
    let hd = frame.pointee.hd
    if hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0,
       hd.type == UInt8(NGHTTP2_HEADERS.rawValue) || hd.type == UInt8(NGHTTP2_DATA.rawValue),
       me.mayResetAfterEnd, me.streams[hd.stream_id]?.resetAfterEnd == true,
       nghttp2_session_get_stream_remote_close(session, hd.stream_id) == 0 {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), hd.stream_id, HTTP2ErrorCode.noError)
    }
    if frame.pointee.hd.type == UInt8(NGHTTP2_GOAWAY.rawValue),
       frame.pointee.goaway.error_code != HTTP2ErrorCode.noError,
       !me.terminatedLocally, me.failure == nil {
        // nghttp2 itself answered a protocol violation: the connection is over.
        me.failure = .connectionError(errorCode: frame.pointee.goaway.error_code,
                                      message: me.lastLibraryMessage)
    }
    return 0
}

/// A request whose HEADERS never went out (GOAWAY, session ending) never opens, so nghttp2 reports
/// no close for it: report one, as refused.
private func frameNotSent(_ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?,
                          _ errorCode: Int32, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData), let frame else { return callbackFailure }
    let id = frame.pointee.hd.stream_id
    guard frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
          nghttp2_session_find_stream(session, id) == nil,
          let state = me.streams.removeValue(forKey: id) else { return 0 }
    if me.headerArena.stream == id { me.headerArena.stream = 0 }
    if state.announced {
        me.delegate?.http2Session(me, didCloseStream: id, errorCode: HTTP2ErrorCode.refusedStream)
    }
    return afterDelegate(me)
}

private func libraryError(_ session: OpaquePointer?, _ code: Int32, _ message: UnsafePointer<CChar>?,
                          _ length: Int, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let me = owner(userData), let message else { return 0 }
    me.lastLibraryMessage = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
    return 0
}
