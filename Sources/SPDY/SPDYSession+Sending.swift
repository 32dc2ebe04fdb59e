// The caller's side: open, reply, send, finish, reset, ping, go away. Misuse throws and writes nothing.

extension SPDYSession {
    private func checkUsable() throws {
        guard !hasFailed else { throw SPDYError.sessionFailed }
    }

    /// Opens a stream (SYN_STREAM) and returns its id (odd for a client, even for a server).
    public func openStream(headers: SPDYHeaders, fin: Bool = false, priority: UInt8 = 0) throws -> UInt32 {
        try checkUsable()
        guard !goAwaySent, !goAwayReceived else { throw SPDYError.goingAway }
        guard nextStreamID <= SPDYWire.maxStreamID else { throw SPDYError.streamIDsExhausted }
        let open = streams.values.reduce(0) { $0 + ($1.isLocallyInitiated ? 1 : 0) }
        guard open < peerMaxConcurrentStreams else { throw SPDYError.tooManyStreams(limit: peerMaxConcurrentStreams) }
        let id = nextStreamID
        var bytes: [UInt8] = []
        try encoder.encode(.synStream(streamID: id, priority: priority, fin: fin, headers: headers), into: &bytes)
        nextStreamID += 2
        streams[id] = SPDYStreamState(isLocallyInitiated: true, isReplied: false, isLocalClosed: fin,
                                      isRemoteClosed: false, sendWindow: peerInitialWindow)
        bytes.withUnsafeBytes { emit($0) }
        return id
    }

    /// Answers a stream the peer opened (SYN_REPLY). Must precede any DATA on it: spdystream drops DATA that
    /// arrives before the reply.
    public func reply(to id: UInt32, headers: SPDYHeaders = [], fin: Bool = false) throws {
        try checkUsable()
        guard let s = streams[id] else { throw SPDYError.unknownStream(id) }
        guard !s.isLocallyInitiated else { throw SPDYError.notPeerInitiated(id) }
        guard !s.isReplied else { throw SPDYError.alreadyReplied(id) }
        var bytes: [UInt8] = []
        try encoder.encode(.synReply(streamID: id, fin: fin, headers: headers), into: &bytes)
        streams[id]?.isReplied = true
        if fin { streams[id]?.isLocalClosed = true }
        bytes.withUnsafeBytes { emit($0) }
        removeIfClosed(id)
    }

    /// Sends a HEADERS frame on a replied stream.
    public func sendHeaders(_ id: UInt32, headers: SPDYHeaders, fin: Bool = false) throws {
        try checkSendable(id)
        var bytes: [UInt8] = []
        try encoder.encode(.headers(streamID: id, fin: fin, headers: headers), into: &bytes)
        if fin { streams[id]?.isLocalClosed = true }
        bytes.withUnsafeBytes { emit($0) }
        removeIfClosed(id)
    }

    private func checkSendable(_ id: UInt32) throws {
        try checkUsable()
        guard let s = streams[id] else { throw SPDYError.unknownStream(id) }
        guard !s.isLocalClosed else { throw SPDYError.streamClosedForSending(id) }
        guard s.isReplied else { throw SPDYError.notReplied(id) }
    }

    /// Sends payload as DATA frames of at most `limits.maxOutboundDataFrameSize`, each written as its 8-byte
    /// header then a slice of `bytes` (no copy). Returns how many bytes went out: all of them unless the peer
    /// does flow control and its window is smaller; then FIN is withheld and the caller resends the rest after
    /// `didUpdateSendWindow`. Empty `bytes` with `fin` sends an empty DATA FIN.
    @discardableResult
    public func sendData(_ bytes: UnsafeRawBufferPointer, on id: UInt32, fin: Bool = false) throws -> Int {
        try checkSendable(id)
        let total = bytes.count
        var allowed = total
        if isFlowControlActive, let window = sendWindow(for: id) { allowed = min(total, window) }
        if total == 0 && !fin { return 0 }
        if allowed == 0 && total > 0 { return 0 }
        let frameSize = min(max(1, limits.maxOutboundDataFrameSize), SPDYWire.maxFrameLength)
        var sent = 0
        repeat {
            let n = min(frameSize, allowed - sent)
            let finHere = fin && sent + n == total
            // State first: a delegate reacting to the write sees the stream as it now is.
            sessionSendWindow -= n
            streams[id]?.sendWindow -= n
            if finHere { streams[id]?.isLocalClosed = true }
            let header = SPDYDataFrameHeader(streamID: id, length: n, fin: finHere)
            header.withUnsafeBytes { emit($0, bytes.slice(sent, sent + n)) }
            sent += n
        } while sent < allowed && streams[id] != nil
        if fin && sent == total { removeIfClosed(id) }
        return sent
    }

    @discardableResult
    public func sendData(_ bytes: [UInt8], on id: UInt32, fin: Bool = false) throws -> Int {
        try bytes.withUnsafeBytes { try sendData($0, on: id, fin: fin) }
    }

    /// Half-closes our side: an empty DATA frame with FIN.
    public func finish(_ id: UInt32) throws {
        try sendData(UnsafeRawBufferPointer(start: nil, count: 0), on: id, fin: true)
    }

    /// Resets a stream (RST_STREAM) and forgets it. No delegate callback follows. Unknown ids are still sent
    /// (refusing something the caller knows of); id 0 is never sent.
    public func reset(_ id: UInt32, status: SPDYRstStatus = .cancel) {
        guard !hasFailed, id != 0, id <= SPDYWire.maxStreamID else { return }
        sendRst(id, status.rawValue == 0 ? .cancel : status)
        if streams.removeValue(forKey: id) != nil { closedStreams.add(id, reset: true) }
    }

    /// Sends a PING of our own (even ids for a server, odd for a client) and returns its id; the echo is
    /// reported by `didReceivePingAck`. Returns 0 (and sends nothing) once the session failed.
    @discardableResult
    public func ping() -> UInt32 {
        guard !hasFailed else { return 0 }
        let id = nextPingID
        nextPingID = nextPingID > 0x7fff_fffd ? (role == .client ? 1 : 2) : nextPingID + 2
        outstandingPings.append(id)
        if outstandingPings.count > max(1, limits.maxOutstandingPings) { outstandingPings.removeFirst() }
        sendControlUnchecked(.ping(id: id))
        return id
    }

    /// Sends GOAWAY once, naming the last stream the peer opened; no new streams either way afterwards.
    /// Our side of existing streams carries on, but spdystream stops reading the moment it receives GOAWAY:
    /// send the last DATA and FINs first, GOAWAY after them, and close only once the peer has read.
    public func goAway(status: SPDYGoAwayStatus = .ok) {
        guard !hasFailed, !goAwaySent else { return }
        goAwaySent = true
        sendControlUnchecked(.goAway(lastGoodStreamID: lastPeerStreamID, status: status))
    }

    /// Sends WINDOW_UPDATE (id 0: the session window). Deltas outside 1...2^31-1 are ignored.
    public func sendWindowUpdate(_ id: UInt32, delta: UInt32) {
        guard !hasFailed, id <= SPDYWire.maxStreamID, delta >= 1, delta <= 0x7fff_ffff else { return }
        sendControlUnchecked(.windowUpdate(streamID: id, delta: delta))
    }

    /// Sends SETTINGS. An INITIAL_WINDOW_SIZE here sets the window our automatic WINDOW_UPDATEs replenish.
    public func sendSettings(_ settings: [SPDYSetting], clearPrevious: Bool = false) throws {
        try checkUsable()
        var bytes: [UInt8] = []
        try encoder.encode(.settings(clearPrevious: clearPrevious, settings), into: &bytes)
        var announcing = false
        for s in settings where s.id == SPDYSetting.initialWindowSizeID {
            ourInitialWindow = Int(min(s.value, 0x7fff_ffff))
            announcing = true
        }
        bytes.withUnsafeBytes { emit($0) }
        if announcing && !announcedWindows {
            // From now on we credit what we receive, starting with what arrived before.
            announcedWindows = true
            creditReceivedSoFar()
        }
    }
}
