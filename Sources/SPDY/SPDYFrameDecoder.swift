/// Receives what `SPDYFrameDecoder` finds, synchronously, in wire order.
public protocol SPDYFrameDecoderDelegate: AnyObject {
    /// A complete control frame, its header block (if any) inflated and parsed.
    func frameDecoder(_ decoder: SPDYFrameDecoder, didDecode frame: SPDYControlFrame)
    /// A SYN_STREAM, SYN_REPLY or HEADERS whose block inflated fine but does not parse: a stream error.
    func frameDecoder(_ decoder: SPDYFrameDecoder, didReceiveMalformedHeaders type: SPDYControlType,
                      streamID: UInt32, flags: UInt8, error: SPDYError)
    /// A DATA frame starts; its payload follows as chunks, then `didEndData`.
    func frameDecoder(_ decoder: SPDYFrameDecoder, didBeginData streamID: UInt32, length: Int, fin: Bool)
    /// Part of a DATA payload: a borrowed slice of the input, valid only during the call.
    func frameDecoder(_ decoder: SPDYFrameDecoder, didReceiveData chunk: UnsafeRawBufferPointer, streamID: UInt32)
    func frameDecoder(_ decoder: SPDYFrameDecoder, didEndData streamID: UInt32, fin: Bool)
    /// A DATA frame declared longer than the limit; its payload is skipped without being delivered.
    func frameDecoder(_ decoder: SPDYFrameDecoder, didSkipOversizedData streamID: UInt32, length: Int, fin: Bool)
    /// A connection-level error; the decoder has stopped. `streamID` is the stream of a SYN_STREAM with an
    /// unsupported version (to be answered with RST_STREAM UNSUPPORTED_VERSION), otherwise 0.
    func frameDecoder(_ decoder: SPDYFrameDecoder, didFail error: SPDYError, streamID: UInt32)
}

/// Incremental SPDY/3 frame decoder: input may be split anywhere. DATA payload is passed through as slices of
/// the input (never buffered); control frames are buffered only when split, up to `maxControlFrameSize`.
/// Owns the connection's inbound header decompressor, so every header block is inflated in order.
public final class SPDYFrameDecoder {
    private enum State {
        case header
        case control(type: UInt16, version: UInt16, flags: UInt8, length: Int)
        case data(streamID: UInt32, fin: Bool, remaining: Int)
        case skip(remaining: Int)
        case stopped
    }

    public let decompressor: SPDYHeaderDecompressor
    private let limits: SPDYLimits
    private var state = State.header
    private var headerWord: UInt64 = 0
    private var headerCount = 0
    private var controlBuffer: [UInt8] = []

    public init(limits: SPDYLimits = SPDYLimits()) {
        self.limits = limits
        decompressor = SPDYHeaderDecompressor(maxBlockSize: limits.maxHeaderBlockSize)
    }

    /// True once a connection-level error was reported or `stop()` was called; further input is ignored.
    public var isStopped: Bool {
        if case .stopped = state { return true }
        return false
    }

    public func stop() {
        // Only the state: stop() may run inside a callback that borrows controlBuffer.
        state = .stopped
    }

    /// Consumes all of `bytes` (unless stopped), calling `delegate` for each event.
    public func decode(_ bytes: UnsafeRawBufferPointer, delegate: any SPDYFrameDecoderDelegate) {
        let n = bytes.count
        var p = 0
        // State is always updated before a delegate call, so a delegate that calls stop() wins.
        while p < n {
            switch state {
            case .stopped:
                return
            case .header:
                while headerCount < SPDYWire.frameHeaderSize && p < n {
                    headerWord = headerWord << 8 | UInt64(bytes[p])
                    headerCount += 1
                    p += 1
                }
                if headerCount == SPDYWire.frameHeaderSize {
                    headerCount = 0
                    beginFrame(headerWord, delegate)
                }
            case let .control(type, version, flags, length):
                if controlBuffer.isEmpty && n - p >= length {
                    // Whole body in this input: parse in place, no copy.
                    state = .header
                    controlFrame(type, version, flags, bytes.slice(p, p + length), delegate)
                    p += length
                } else {
                    let take = min(length - controlBuffer.count, n - p)
                    if controlBuffer.isEmpty { controlBuffer.reserveCapacity(length) }
                    controlBuffer.append(contentsOf: bytes.slice(p, p + take))
                    p += take
                    if controlBuffer.count == length {
                        state = .header
                        controlBuffer.withUnsafeBytes { controlFrame(type, version, flags, $0, delegate) }
                        if case .stopped = state { return }
                        controlBuffer.removeAll(keepingCapacity: controlBuffer.capacity <= 4096)
                    }
                }
            case let .data(id, fin, remaining):
                let take = min(remaining, n - p)
                let left = remaining - take
                state = left == 0 ? .header : .data(streamID: id, fin: fin, remaining: left)
                delegate.frameDecoder(self, didReceiveData: bytes.slice(p, p + take), streamID: id)
                p += take
                if left == 0, !isStopped { delegate.frameDecoder(self, didEndData: id, fin: fin) }
            case let .skip(remaining):
                let take = min(remaining, n - p)
                state = remaining == take ? .header : .skip(remaining: remaining - take)
                p += take
            }
        }
    }

    private func fail(_ error: SPDYError, streamID: UInt32 = 0, _ delegate: any SPDYFrameDecoderDelegate) {
        stop()
        delegate.frameDecoder(self, didFail: error, streamID: streamID)
    }

    private func beginFrame(_ word: UInt64, _ delegate: any SPDYFrameDecoderDelegate) {
        let first = UInt32(truncatingIfNeeded: word >> 32)
        let second = UInt32(truncatingIfNeeded: word)
        let flags = UInt8(truncatingIfNeeded: second >> 24)
        let length = Int(second & 0x00ff_ffff)
        if first & 0x8000_0000 != 0 {
            let version = UInt16(truncatingIfNeeded: first >> 16) & 0x7fff
            let type = UInt16(truncatingIfNeeded: first)
            guard length <= limits.maxControlFrameSize else {
                return fail(.controlFrameTooLarge(length: length, limit: limits.maxControlFrameSize), delegate)
            }
            if version != SPDYWire.version {
                // A SYN_STREAM's id is worth reading so the stream can be refused by name; then we go away,
                // since its header block is not in our compression format.
                guard type == SPDYControlType.synStream.rawValue, length >= 4 else {
                    return fail(.unsupportedVersion(version), delegate)
                }
            } else if SPDYControlType(rawValue: type) == nil {
                return fail(.unknownControlFrame(type: type), delegate)
            }
            state = .control(type: type, version: version, flags: flags, length: length)
            if length == 0 {
                state = .header
                controlFrame(type, version, flags, UnsafeRawBufferPointer(start: nil, count: 0), delegate)
            }
            return
        }
        let id = first & SPDYWire.maxStreamID
        let fin = flags & SPDYWire.flagFin != 0
        guard id != 0 else { return fail(.protocolError("DATA frame on stream 0"), delegate) }
        if length > limits.maxDataFrameSize {
            state = .skip(remaining: length)
            delegate.frameDecoder(self, didSkipOversizedData: id, length: length, fin: fin)
        } else if length == 0 {
            state = .header
            delegate.frameDecoder(self, didBeginData: id, length: 0, fin: fin)
            if !isStopped { delegate.frameDecoder(self, didEndData: id, fin: fin) }
        } else {
            state = .data(streamID: id, fin: fin, remaining: length)
            delegate.frameDecoder(self, didBeginData: id, length: length, fin: fin)
        }
    }

    private func controlFrame(_ rawType: UInt16, _ version: UInt16, _ flags: UInt8, _ body: UnsafeRawBufferPointer,
                              _ delegate: any SPDYFrameDecoderDelegate)
    {
        if version != SPDYWire.version {
            return fail(.unsupportedVersion(version), streamID: body.be32(at: 0) & SPDYWire.maxStreamID, delegate)
        }
        guard let type = SPDYControlType(rawValue: rawType) else {
            return fail(.unknownControlFrame(type: rawType), delegate)
        }
        let fin = flags & SPDYWire.flagFin != 0
        let frame: SPDYControlFrame
        switch type {
        case .synStream:
            guard body.count >= 10 else { return fail(.protocolError("SYN_STREAM of \(body.count) bytes"), delegate) }
            let id = body.be32(at: 0) & SPDYWire.maxStreamID
            guard let headers = headerBlock(type, id, flags, body.slice(10, body.count), delegate) else { return }
            frame = .synStream(streamID: id, associatedStreamID: body.be32(at: 4) & SPDYWire.maxStreamID,
                               priority: body[8] >> 5, slot: body[9], fin: fin,
                               unidirectional: flags & SPDYWire.flagUnidirectional != 0, headers: headers)
        case .synReply, .headers:
            guard body.count >= 4 else { return fail(.protocolError("\(type) of \(body.count) bytes"), delegate) }
            let id = body.be32(at: 0) & SPDYWire.maxStreamID
            guard let headers = headerBlock(type, id, flags, body.slice(4, body.count), delegate) else { return }
            frame = type == .synReply ? .synReply(streamID: id, fin: fin, headers: headers)
                : .headers(streamID: id, fin: fin, headers: headers)
        case .rstStream:
            guard body.count == 8 else { return fail(.protocolError("RST_STREAM of \(body.count) bytes"), delegate) }
            let id = body.be32(at: 0) & SPDYWire.maxStreamID
            guard id != 0 else { return fail(.protocolError("RST_STREAM on stream 0"), delegate) }
            frame = .rstStream(streamID: id, status: SPDYRstStatus(rawValue: body.be32(at: 4)))
        case .settings:
            guard body.count >= 4 else { return fail(.protocolError("SETTINGS of \(body.count) bytes"), delegate) }
            let count = Int(body.be32(at: 0))
            guard count <= (body.count - 4) / 8, body.count == 4 + 8 * count else {
                return fail(.protocolError("SETTINGS count \(count) does not match its length"), delegate)
            }
            var settings: [SPDYSetting] = []
            settings.reserveCapacity(count)
            for i in 0..<count {
                let word = body.be32(at: 4 + 8 * i)
                settings.append(SPDYSetting(id: word & 0x00ff_ffff, value: body.be32(at: 8 + 8 * i),
                                            flags: UInt8(truncatingIfNeeded: word >> 24)))
            }
            frame = .settings(clearPrevious: flags & SPDYWire.flagSettingsClear != 0, settings)
        case .ping:
            guard body.count == 4 else { return fail(.protocolError("PING of \(body.count) bytes"), delegate) }
            frame = .ping(id: body.be32(at: 0))
        case .goAway:
            guard body.count == 8 else { return fail(.protocolError("GOAWAY of \(body.count) bytes"), delegate) }
            frame = .goAway(lastGoodStreamID: body.be32(at: 0) & SPDYWire.maxStreamID,
                            status: SPDYGoAwayStatus(rawValue: body.be32(at: 4)))
        case .windowUpdate:
            guard body.count == 8 else { return fail(.protocolError("WINDOW_UPDATE of \(body.count) bytes"), delegate) }
            frame = .windowUpdate(streamID: body.be32(at: 0) & SPDYWire.maxStreamID,
                                  delta: body.be32(at: 4) & 0x7fff_ffff)
        }
        delegate.frameDecoder(self, didDecode: frame)
    }

    /// Inflates and parses a header block. Returns nil when an event was already reported (malformed block:
    /// stream error; inflate failure or bomb: connection error).
    private func headerBlock(_ type: SPDYControlType, _ id: UInt32, _ flags: UInt8, _ block: UnsafeRawBufferPointer,
                             _ delegate: any SPDYFrameDecoderDelegate) -> SPDYHeaders?
    {
        guard !block.isEmpty else {
            delegate.frameDecoder(self, didReceiveMalformedHeaders: type, streamID: id, flags: flags,
                                  error: .malformedHeaderBlock("no header block"))
            return nil
        }
        do {
            return try decompressor.decompress(block) { try SPDYHeaderBlock.parse($0) }
        } catch let error as SPDYError {
            if case .malformedHeaderBlock = error {
                delegate.frameDecoder(self, didReceiveMalformedHeaders: type, streamID: id, flags: flags, error: error)
            } else {
                fail(error, delegate)
            }
        } catch {
            fail(.compression("\(error)"), delegate)
        }
        return nil
    }
}
