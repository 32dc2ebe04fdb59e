// What the session does with each inbound frame: SPDY/3 section 2 rules, softened where spdystream needs it.

extension SPDYSession {
    func handleControl(_ frame: SPDYControlFrame) {
        switch frame {
        case let .synStream(id, _, _, _, fin, unidirectional, headers):
            handleSynStream(id, fin: fin, unidirectional: unidirectional, headers: headers)
        case let .synReply(id, fin, headers):
            handleSynReply(id, fin: fin, headers: headers)
        case let .headers(id, fin, headers):
            handleHeaders(id, fin: fin, headers: headers)
        case let .rstStream(id, status):
            guard streams.removeValue(forKey: id) != nil else { return }  // never answer a RST with a RST
            closedStreams.add(id, reset: true)
            delegate?.spdySession(self, didResetStream: id, status: status, byPeer: true)
        case let .settings(_, settings):
            handleSettings(settings)
        case let .ping(id):
            handlePing(id)
        case let .goAway(last, status):
            handleGoAway(last, status)
        case let .windowUpdate(id, delta):
            handleWindowUpdate(id, delta)
        }
    }

    func handleMalformedHeaders(_ type: SPDYControlType, _ id: UInt32) {
        switch type {
        case .synStream: handleSynStream(id, fin: false, unidirectional: false, headers: nil)
        case .synReply: handleSynReply(id, fin: false, headers: nil)
        default: handleHeaders(id, fin: false, headers: nil)
        }
    }

    /// `headers` nil: the block was malformed (already inflated, so compression state is intact).
    private func handleSynStream(_ id: UInt32, fin: Bool, unidirectional: Bool, headers: SPDYHeaders?) {
        guard id != 0 else { return fail(.protocolError("SYN_STREAM on stream 0")) }
        // After our GOAWAY new streams are ignored (SPDY/3 2.6.6); their blocks were inflated all the same.
        guard !goAwaySent else { return }
        guard isPeerStreamID(id) else { return resetForError(id, .protocolError) }
        guard id >= lastPeerStreamID else {
            return fail(.protocolError("SYN_STREAM \(id) after \(lastPeerStreamID)"))
        }
        guard id != lastPeerStreamID else { return resetForError(id, .protocolError) }  // reused id
        lastPeerStreamID = id
        guard let headers else { return resetForError(id, .protocolError) }
        let open = streams.keys.reduce(0) { $0 + (isPeerStreamID($1) ? 1 : 0) }
        guard open < limits.maxConcurrentStreams else {
            sendRst(id, .refusedStream)
            closedStreams.add(id, reset: true)
            return
        }
        streams[id] = SPDYStreamState(isLocallyInitiated: false, isReplied: false, isLocalClosed: unidirectional,
                                      isRemoteClosed: fin, sendWindow: peerInitialWindow)
        delegate?.spdySession(self, didOpenStream: id, headers: headers, fin: fin)
        removeIfClosed(id)
    }

    private func handleSynReply(_ id: UInt32, fin: Bool, headers: SPDYHeaders?) {
        guard id != 0 else { return fail(.protocolError("SYN_REPLY on stream 0")) }
        guard let s = streams[id] else { return unknownStream(id) }
        guard s.isLocallyInitiated else { return resetForError(id, .protocolError) }
        guard !s.isReplied else { return resetForError(id, .streamInUse) }
        guard let headers else { return resetForError(id, .protocolError) }
        streams[id]?.isReplied = true
        if fin { streams[id]?.isRemoteClosed = true }
        delegate?.spdySession(self, didReceiveReply: id, headers: headers, fin: fin)
        removeIfClosed(id)
    }

    private func handleHeaders(_ id: UInt32, fin: Bool, headers: SPDYHeaders?) {
        guard id != 0 else { return fail(.protocolError("HEADERS on stream 0")) }
        guard let s = streams[id] else { return unknownStream(id) }
        guard !s.isRemoteClosed else { return resetForError(id, .streamAlreadyClosed) }
        guard let headers else { return resetForError(id, .protocolError) }
        if fin { streams[id]?.isRemoteClosed = true }
        delegate?.spdySession(self, didReceiveHeaders: id, headers: headers, fin: fin)
        removeIfClosed(id)
    }

    /// A stream frame for a stream not in the table.
    private func unknownStream(_ id: UInt32) {
        if goAwaySent { return }
        switch closedStreams.lookup(id) {
        case true?: return  // we or the peer reset it: late frames are expected
        case false?: sendRst(id, .streamAlreadyClosed)
        case nil: sendRst(id, .invalidStream)
        }
    }

    private func handleSettings(_ settings: [SPDYSetting]) {
        for s in settings {
            switch s.id {
            case SPDYSetting.initialWindowSizeID:
                guard s.value <= 0x7fff_ffff else {
                    return fail(.protocolError("INITIAL_WINDOW_SIZE \(s.value)"))
                }
                activateFlowControl()
                let delta = Int(s.value) - peerInitialWindow
                peerInitialWindow = Int(s.value)
                for id in streams.keys { streams[id]?.sendWindow += delta }
            case SPDYSetting.maxConcurrentStreamsID:
                peerMaxConcurrentStreams = Int(s.value)
            default:
                break
            }
        }
        delegate?.spdySession(self, didReceiveSettings: settings)
        if isFlowControlActive {
            for id in streams.keys.sorted() where streams[id] != nil {
                delegate?.spdySession(self, didUpdateSendWindow: id)
            }
        }
    }

    private func handlePing(_ id: UInt32) {
        if !isOwnPingID(id) {
            // The peer's ping: echo it (id 0 would kill spdystream's reader, so it gets no echo).
            if id != 0 { sendControlUnchecked(.ping(id: id)) }
        } else if let i = outstandingPings.firstIndex(of: id) {
            outstandingPings.remove(at: i)
            delegate?.spdySession(self, didReceivePingAck: id)
        }
        // An own-parity id we did not send is ignored (SPDY/3 2.6.5).
    }

    private func handleGoAway(_ last: UInt32, _ status: SPDYGoAwayStatus) {
        goAwayReceived = true
        delegate?.spdySession(self, didReceiveGoAway: last, status: status)
        // Our streams above last-good were never processed by the peer.
        let refused = streams.filter { $0.value.isLocallyInitiated && $0.key > last }.keys.sorted()
        for id in refused where streams.removeValue(forKey: id) != nil {
            closedStreams.add(id, reset: true)
            delegate?.spdySession(self, didResetStream: id, status: .refusedStream, byPeer: true)
        }
    }

    /// The peer showed it does SPDY/3.1 flow control: from now on its windows bind us, and what it
    /// has already sent is credited back to it.
    private func activateFlowControl() {
        guard !isFlowControlActive else { return }
        isFlowControlActive = true
        creditReceivedSoFar()
    }

    private func handleWindowUpdate(_ id: UInt32, _ delta: UInt32) {
        activateFlowControl()
        guard delta > 0 else { return }
        if id == 0 {
            let next = sessionSendWindow + Int(delta)
            guard next <= 0x7fff_ffff else { return fail(.protocolError("session window overflow")) }
            sessionSendWindow = next
        } else {
            guard let s = streams[id] else { return }
            let next = s.sendWindow + Int(delta)
            guard next <= 0x7fff_ffff else { return resetForError(id, .flowControlError) }
            streams[id]?.sendWindow = next
        }
        delegate?.spdySession(self, didUpdateSendWindow: id)
    }

    // MARK: DATA

    func handleDataBegin(_ id: UInt32) {
        deliveringStream = nil
        guard let s = streams[id] else { return unknownStream(id) }
        guard !s.isRemoteClosed else { return resetForError(id, .streamAlreadyClosed) }
        // SPDY/3 2.2.2: DATA before the SYN_REPLY on a stream we opened is a protocol error.
        guard !s.isLocallyInitiated || s.isReplied else { return resetForError(id, .protocolError) }
        deliveringStream = id
    }

    func handleDataChunk(_ chunk: UnsafeRawBufferPointer, _ id: UInt32) {
        // The peer charged every DATA byte to the session window, delivered or not.
        sessionReceivedUnacknowledged += chunk.count
        guard deliveringStream == id, streams[id] != nil else { return }
        streams[id]?.receivedUnacknowledged += chunk.count
        delegate?.spdySession(self, didReceiveData: chunk, stream: id)
    }

    func handleDataEnd(_ id: UInt32, fin: Bool) {
        defer { deliveringStream = nil }
        if deliveringStream == id, streams[id] != nil {
            if fin {
                streams[id]?.isRemoteClosed = true
                delegate?.spdySession(self, didReceiveFin: id)
                removeIfClosed(id)
            } else {
                creditStreamWindow(id)
            }
        }
        creditSessionWindow()
    }

    func handleOversizedData(_ id: UInt32, length: Int) {
        sessionReceivedUnacknowledged += length
        if streams[id] != nil {
            resetForError(id, .frameTooLarge)
        } else {
            unknownStream(id)
        }
        creditSessionWindow()
    }

    /// WINDOW_UPDATE once half a window was consumed, so a peer that does SPDY/3.1 flow control never stalls
    /// (our backpressure is not reading the socket, not windows) — but only when flow control is in use: the
    /// peer sent SETTINGS INITIAL_WINDOW_SIZE or WINDOW_UPDATE, or we announced our window. spdystream never does and never reads them once
    /// it stops reading: frames it leaves unread make its kernel reset the connection at close, and the reset
    /// destroys output still unread on our side (4–6 % of a 64 MiB stream from a kubelet-style server).
    /// Flow control just came into use: credit what the peer has charged so far.
    func creditReceivedSoFar() {
        for id in streams.keys.sorted() { creditStreamWindow(id) }
        creditSessionWindow()
    }

    private func creditStreamWindow(_ id: UInt32) {
        guard creditsReceivedData, !hasFailed, let s = streams[id], !s.isRemoteClosed,
              s.receivedUnacknowledged >= max(ourInitialWindow / 2, 1) else { return }
        streams[id]?.receivedUnacknowledged = 0
        sendControlUnchecked(.windowUpdate(streamID: id, delta: UInt32(min(s.receivedUnacknowledged, 0x7fff_ffff))))
    }

    private func creditSessionWindow() {
        guard creditsReceivedData, !hasFailed,
              sessionReceivedUnacknowledged >= SPDYWire.defaultWindow / 2 else { return }
        let delta = min(sessionReceivedUnacknowledged, 0x7fff_ffff)
        sessionReceivedUnacknowledged -= delta
        sendControlUnchecked(.windowUpdate(streamID: 0, delta: UInt32(delta)))
    }
}
