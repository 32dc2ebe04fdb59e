import HTTP2
import Reactor

extension HTTP2ServerConnection {
    /// The worker drains (SIGTERM): an idle connection ends now; with sessions running, new streams
    /// are refused (REFUSED_STREAM) and the running sessions finish, then GOAWAY with the last
    /// stream id. No GOAWAY while they run: Python's h2 fails on any frame behind one, and curl
    /// 7.88 drops DATA it reads with one.
    func drain() {
        guard state == .open else { return }
        guard hasLiveSession else { return closeWhenDone() }
        state = .draining
    }

    /// Not ready any more: without a running session, GOAWAY (after the close linger), which tells
    /// the client which streams were taken, so it retries the rest on a new connection.
    func leaveIfIdle() {
        guard state == .open, !hasLiveSession else { return }
        closeWhenDone()
    }

    /// Close once nghttp2 has nothing more to say or hear (no session left, or the client is gone).
    func closeWhenDone() {
        guard state != .closed else { return }
        state = .closing
        flush()
        closeIfDone()
    }

    /// The client sent GOAWAY: it opens nothing more. Once what it still waits for is out, close.
    func clientWentAway() {
        guard state != .closed else { return }
        if state == .open { state = .draining }
        if !hasLiveSession { closeWhenDone() }
    }

    /// A session is running (or a WebSocket stream): the connection stays for it.
    var hasLiveSession: Bool {
        !liveExec.isEmpty || webSockets.values.contains { !$0.isEnded } || portForward?.hasLive == true
    }

    /// nghttp2 found the client breaking the protocol and queued GOAWAY with the code.
    func protocolError(_ error: Error) {
        logger.info("HTTP/2 protocol error from client", metadata: ["error": "\(error)"])
        guard state != .closed else { return }
        state = .closing
        h2.flush()
        goAwaySent = true
        connection.closeGracefully(linger: 1)
    }

    /// RST_STREAM(REFUSED_STREAM): the client may retry the request elsewhere (RFC 9113 §8.7).
    func refuse(_ stream: Int32) {
        h2.resetStream(stream, errorCode: HTTP2ErrorCode.refusedStream)
        flush()
    }

    /// Once the last byte of every stream is out, the client has what it needs and closes the
    /// connection itself; GOAWAY follows only if it does not, after the linger time. Sent at
    /// once, GOAWAY races the client's reading: Python's h2 fails on any frame behind it, and
    /// curl 7.88 sometimes drops DATA that arrives in the same read as GOAWAY. A client that
    /// sent GOAWAY itself reads nothing more: it gets ours at once.
    func closeIfDone() {
        guard state == .closing, connection.isOpen, !h2.wantsWrite, lingerTimer == nil,
              !execStreams.values.contains(where: \.outputPending),
              !webSockets.values.contains(where: \.outputPending),
              portForward?.outputPending != true else { return }
        if h2.peerSentGoAway {
            goAway()
            return
        }
        lingerTimer = LoopTimer(loop: connection.loop, after: config.closeLinger) { [weak self] in self?.goAway() }
    }

    /// GOAWAY with `errorCode`, then close once it is out.
    func goAway(errorCode: UInt32 = HTTP2ErrorCode.noError) {
        guard state != .closed, connection.isOpen, !goAwaySent else { return }
        goAwaySent = true
        state = .closing
        for session in execStreams.values { session.abortUnfinishedRequest() }
        h2.flush()
        h2.terminate(errorCode: errorCode)
        h2.flush()
        // Inside nghttp2's parsing the frames go out only when it returns: close after that.
        guard h2.isInsideCallback else { return connection.closeGracefully(linger: 1) }
        closeTimer = LoopTimer(loop: connection.loop, after: 0) { [weak self] in
            self?.connection.closeGracefully(linger: 1)
        }
    }

    // MARK: Idle bounds

    /// No stream is open: the connection may stay so for `keepAliveTimeout` (the HTTP/1.1
    /// keep-alive bound), then it ends with GOAWAY.
    func becameIdle() {
        guard state != .closed, idleSince == nil, !hasLiveSession else { return }
        idleSince = EventLoop.now()
        // A timer still armed from an earlier idle spell serves: idleCheck re-arms for what is left.
        // (Between probes a busy connection is idle again and again; a timer each time cost more
        // than the probe.)
        if idleTimer?.isActive != true { armIdleTimer(after: services.keepAliveTimeout) }
    }

    private func armIdleTimer(after seconds: Double) {
        idleTimer?.cancel()
        idleTimer = LoopTimer(loop: connection.loop, after: max(seconds, 0.01)) { [weak self] in self?.idleCheck() }
    }

    private func idleCheck() {
        guard state != .closed, let since = idleSince else { return }
        // A port-forward connection waits for its client's next forwarded connection, however long.
        guard h2.isIdle, !hasLiveSession, portForward == nil else {
            idleSince = nil
            return
        }
        let left = since + services.keepAliveTimeout - EventLoop.now()
        if left > 0.001 {
            armIdleTimer(after: left)
            return
        }
        logger.debug("HTTP/2 connection idle without a stream: closing")
        goAway()
    }

    /// PING a silent client every keepalive interval (load balancers cut idle connections at
    /// 60 s); a client that leaves a PING unanswered for `keepAliveTimeout` is gone: GOAWAY.
    func keepaliveTick() {
        guard state != .closed, connection.isOpen else { return }
        let now = EventLoop.now()
        if let since = pingUnansweredSince, now - since >= services.keepAliveTimeout {
            logger.info("HTTP/2 client left keepalive PINGs unanswered: closing")
            goAway()
            return
        }
        if !sawTraffic, pingUnansweredSince == nil {
            pingUnansweredSince = now
            h2.ping()
            flush()
        }
        sawTraffic = false
    }
}
