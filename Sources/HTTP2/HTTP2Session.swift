import CNghttp2

/// One HTTP/2 connection over nghttp2, in either role. Bytes come in through `receive`, go out
/// through the delegate's `write`; nothing here knows sockets or event loops. Confined to one
/// thread. Outgoing bodies are queued per stream and pulled by nghttp2 as flow control allows;
/// received bodies are credited back only through `consume` (manual flow control).
public final class HTTP2Session {
    public enum Role: Sendable { case server, client }

    public let role: Role
    public let settings: HTTP2Settings
    let session: OpaquePointer
    /// The delegate, the streams, the header block being received (see `SessionHotState`).
    let hot: UnsafeMutablePointer<SessionHotState>

    /// Depth of calls into nghttp2; delegate callbacks run inside them, where nghttp2 must not be
    /// re-entered by send or recv.
    var nesting = 0
    var flushRequested = false
    /// Frames written by nghttp2 during the current flush, handed to the delegate in one write.
    var output = OutputStage()
    /// Streams whose producer may continue, reported once nghttp2_session_send has returned.
    var drainedStreams: [Int32] = []
    var started = false
    /// Some stream was asked to reset once its end is sent: until then, sending an end looks up nothing.
    var mayResetAfterEnd = false
    /// The application asked for GOAWAY itself (terminate): such a GOAWAY is not a peer error.
    var terminatedLocally = false
    var shutdownStarted = false
    var finalGoAwaySubmitted = false
    /// Set when nghttp2 answered a peer's protocol violation with GOAWAY.
    var failure: HTTP2Error?
    /// The most recent text nghttp2 gave for an error, for the thrown error's message.
    var lastLibraryMessage = ""
    /// Inside a call into nghttp2 (a delegate callback runs): what is flushed now goes out later.
    public var isInsideCallback: Bool { nesting > 0 }
    /// The peer sent GOAWAY: it opens no more streams.
    public internal(set) var peerSentGoAway = false

    /// Opaque data of the PING that measures one round trip before the final GOAWAY.
    static let shutdownPingData: [UInt8] = Array("goaway!\0".utf8)

    public init(role: Role, delegate: HTTP2SessionDelegate?, settings: HTTP2Settings = .init()) {
        self.role = role
        self.settings = settings
        hot = .allocate(capacity: 1)
        hot.initialize(to: SessionHotState(delegate: delegate))

        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else {
            fatalError("nghttp2: out of memory")
        }
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.installCallbacks(callbacks)

        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0, let option else { fatalError("nghttp2: out of memory") }
        defer { nghttp2_option_del(option) }
        // Received DATA is credited back only when the consumer took it: real backpressure.
        nghttp2_option_set_no_auto_window_update(option, 1)

        var created: OpaquePointer?
        let placeholder = UnsafeMutableRawPointer(bitPattern: 1)
        let rv = role == .server
            ? nghttp2_session_server_new2(&created, callbacks, placeholder, option)
            : nghttp2_session_client_new2(&created, callbacks, placeholder, option)
        guard rv == 0, let created else { fatalError("nghttp2: session creation failed (\(rv))") }
        session = created
        // user_data is unretained: this object owns the nghttp2 session and outlives it.
        nghttp2_session_set_user_data(session, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        nghttp2_session_del(session)
        hot.deinitialize(count: 1)
        hot.deallocate()
    }

    // MARK: Bytes in and out

    /// Feeds received bytes to nghttp2, then flushes what they caused (ACKs, WINDOW_UPDATEs,
    /// responses submitted from delegate callbacks). A peer's protocol violation writes GOAWAY and
    /// throws `connectionError` (this and every later call); nghttp2's fatal errors throw `library`.
    public func receive(_ bytes: UnsafeRawBufferPointer) throws {
        guard nesting == 0 else { throw HTTP2Error.reentrantReceive }
        guard !isHalted else { return }
        guard started else { throw HTTP2Error.invalidState("receive before start") }
        if let failure { throw failure }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let rv = withExtendedLifetime(self) { () -> Int in
            nesting += 1
            defer { nesting -= 1 }
            return nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        // Stopped on purpose by a callback: the owner is gone or going, not the peer's fault.
        if isHalted { return }
        if rv < 0, let failure {
            // A violation the session itself detected: GOAWAY is queued.
            flush()
            throw failure
        }
        if rv < 0 {
            let code = Int32(truncatingIfNeeded: rv)
            if code == NGHTTP2_ERR_BAD_CLIENT_MAGIC.rawValue {
                // Not HTTP/2 at all: say so with a GOAWAY before the caller closes.
                terminatedLocally = true
                nghttp2_session_terminate_session(session, HTTP2ErrorCode.protocolError)
            }
            let error = HTTP2Error.library(code: code, message: String(cString: nghttp2_strerror(code)))
            failure = error
            flush()
            throw error
        }
        flush()
        if let failure { throw failure }
    }

    /// Convenience for byte arrays.
    public func receive(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try receive($0) }
    }

    /// Hands everything nghttp2 may send now (control frames; DATA as windows allow) to the
    /// delegate's `write`. Inside a delegate callback this is deferred to the end of the outer call.
    public func flush() {
        if nesting > 0 {
            flushRequested = true
            return
        }
        // Nothing may precede our SETTINGS.
        guard started, !isHalted else { return }
        withExtendedLifetime(self) {
            repeat {
                flushRequested = false
                nesting += 1
                let rv = nghttp2_session_send(session)
                emitOutput()
                nesting -= 1
                if rv != 0 && failure == nil {
                    failure = .library(code: rv, message: String(cString: nghttp2_strerror(rv)))
                }
                // Told after nghttp2 returned, so the producer's sendData may resume streams freely.
                let drained = drainedStreams
                drainedStreams.removeAll(keepingCapacity: true)
                for id in drained where streams[id] != nil {
                    delegate?.http2Session(self, streamCanSendMore: id)
                }
                if !drained.isEmpty { flushRequested = true }
            } while flushRequested && failure == nil
        }
    }

    // MARK: Connection

    /// Ends all processing for good: no byte is parsed or written after this, and no delegate call is
    /// made, even for the rest of a buffer `receive` is parsing now. For an owner whose connection
    /// closed: a frame later in the same read must not open a stream on it.
    public func halt() {
        // Frames staged before the halt were written as far as the owner is concerned.
        emitOutput()
        isHalted = true
    }

    /// A connection error detected here rather than by nghttp2: GOAWAY with `errorCode` is queued
    /// and `receive` throws.
    func rejectPeer(errorCode: UInt32, message: String) {
        guard failure == nil else { return }
        terminatedLocally = true
        failure = .connectionError(errorCode: errorCode, message: message)
        _ = nghttp2_session_terminate_session(session, errorCode)
    }

    /// Records a stream id the peer opens; false if it is lower than one already opened and was
    /// never opened itself (idle streams below an opened one are closed: RFC 9113 §5.1.1).
    func notePeerStream(_ id: Int32) -> Bool {
        hot.pointee.peerStreams.open(id)
    }

    /// The highest stream id the peer opened.
    var highestPeerStream: Int32 { hot.pointee.peerStreams.highest }

    /// PING; `http2SessionDidReceivePingAck` reports the answer.
    public func ping() {
        _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
    }

    /// Server: GOAWAY notice (last id 2^31-1), then, one PING round trip later, the final GOAWAY with
    /// the last stream processed; open streams finish. Client: GOAWAY at once. When both
    /// `wantsRead` and `wantsWrite` turn false the connection can be closed.
    public func shutdownGracefully() {
        guard !shutdownStarted else { return }
        shutdownStarted = true
        if role == .server {
            _ = nghttp2_submit_shutdown_notice(session)
            Self.shutdownPingData.withUnsafeBufferPointer {
                _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0.baseAddress)
            }
        } else {
            submitFinalGoAway()
        }
    }

    /// GOAWAY with `errorCode` now; nothing else is sent or read after it.
    public func terminate(errorCode: UInt32) {
        terminatedLocally = true
        _ = nghttp2_session_terminate_session(session, errorCode)
    }

    /// nghttp2 still expects input (false after GOAWAY both ways with no stream left, or a failure).
    public var wantsRead: Bool { nghttp2_session_want_read(session) != 0 }
    /// Something can be written now (call `flush`).
    public var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }
    /// No stream is open.
    public var isIdle: Bool { streams.isEmpty }
    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited, 2^32-1, until its SETTINGS arrive):
    /// how many streams this side may have open toward it at once.
    public var peerMaxConcurrentStreams: UInt32 {
        nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
    }
    /// The peer is a server that offered RFC 8441 extended CONNECT.
    public var peerAllowsExtendedConnect: Bool {
        nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1
    }

    // MARK: Internals

    /// Frame bytes from nghttp2: staged, or (a large payload) written at once after what is staged.
    func write(_ bytes: UnsafeRawBufferPointer) {
        guard OutputStage.stages(bytes) else {
            emitOutput()
            delegate?.http2Session(self, write: bytes)
            return
        }
        if !output.fits(bytes) { emitOutput() }
        output.append(bytes)
    }

    /// Hands the staged frames to the delegate. Runs with `nesting` raised (inside flush, or from a
    /// callback), so a flush the delegate asks for is deferred and cannot stage over these bytes.
    func emitOutput() {
        guard !output.isEmpty, !isHalted else { return }
        // Emptied first: a delegate that halts the session from inside the write re-enters here.
        let bytes = output.bytes
        output.removeAll()
        nesting += 1
        delegate?.http2Session(self, write: bytes)
        nesting -= 1
    }

    func submitFinalGoAway() {
        guard !finalGoAwaySubmitted else { return }
        finalGoAwaySubmitted = true
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue),
                                  nghttp2_session_get_last_proc_stream_id(session),
                                  HTTP2ErrorCode.noError, nil, 0)
    }

    func submitLocalSettings() throws {
        let entries = settings.entries(isServer: role == .server)
        let rv = entries.withUnsafeBufferPointer {
            nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0.baseAddress, $0.count)
        }
        try check(rv)
    }

    func enlargeConnectionWindow() throws {
        guard settings.connectionWindowSize > 65_535 else { return }
        try check(nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0,
                                                        settings.connectionWindowSize))
    }

    func openUpgradedStream() {
        let state = StreamState(id: 1)
        state.announced = true
        state.sawHeaders = true
        streams[1] = state
    }

    func writableStream(_ id: Int32) throws -> StreamState {
        guard let state = streams[id] else { throw HTTP2Error.unknownStream(id) }
        guard state.hasBody, !state.ended else { throw HTTP2Error.streamNotWritable(id) }
        return state
    }

    func resumeIfDeferred(_ state: StreamState) {
        guard state.deferred else { return }
        state.deferred = false
        _ = nghttp2_session_resume_data(session, state.id)
    }

    func check(_ rv: Int32) throws {
        if rv < 0 { throw HTTP2Error.library(code: rv, message: String(cString: nghttp2_strerror(rv))) }
    }

    static var dataProvider: nghttp2_data_provider {
        nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: readOutgoing)
    }
}
