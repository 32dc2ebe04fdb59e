/// One end of a WebSocket connection after the handshake: decodes what arrives, answers pings,
/// frames (and, as a client, masks) what is sent, and runs the closing handshake (§7).
///
/// States: `open` → `closeSent` (we closed; no more data frames go out, incoming data is still
/// delivered until the peer's close) → `closed`. Receiving a close while open answers it at once
/// and goes straight to `closed`. A protocol error writes a close frame with its code, then reports
/// `didFail`. Not thread-safe: confine it to one event loop.
public final class WebSocketConnection {
    public enum State: Sendable, Hashable {
        case open
        case closeSent
        case closed
    }

    public struct Configuration: Sendable {
        /// Limit on an incoming data message (1009 beyond it).
        public var maxMessageSize: Int
        /// Largest chunk of a masked incoming frame per `didReceiveData`.
        public var receiveScratchSize: Int
        /// Output buffer: small frames go out in one write; a client masks through it.
        public var sendBufferSize: Int
        /// Answer pings with pongs automatically.
        public var autoPong: Bool

        public init(maxMessageSize: Int = 1 << 20, receiveScratchSize: Int = 16 * 1024,
                    sendBufferSize: Int = 16 * 1024, autoPong: Bool = true) {
            self.maxMessageSize = maxMessageSize
            self.receiveScratchSize = receiveScratchSize
            self.sendBufferSize = sendBufferSize
            self.autoPong = autoPong
        }
    }

    public let role: WebSocketRole
    public let configuration: Configuration
    public weak var delegate: (any WebSocketConnectionDelegate)?
    public private(set) var state = State.open
    /// True while a message sent with `fin: false` awaits its last fragment.
    public var isSendingMessage: Bool { outgoingOpcode != nil }

    private let decoder: WebSocketFrameDecoder
    private let maskingKeySource: () -> WebSocketMaskingKey
    private let output: UnsafeMutableRawBufferPointer
    private var outputCount = 0
    private var outgoingOpcode: WebSocketOpcode?

    /// - Parameter maskingKeySource: the client's per-frame masking keys; random by default
    ///   (replace only in tests).
    public init(role: WebSocketRole, configuration: Configuration = Configuration(),
                maskingKeySource: @escaping () -> WebSocketMaskingKey = WebSocketMaskingKey.random) {
        self.role = role
        self.configuration = configuration
        self.maskingKeySource = maskingKeySource
        decoder = WebSocketFrameDecoder(role: role, maxMessageSize: configuration.maxMessageSize,
                                        scratchCapacity: configuration.receiveScratchSize)
        output = .allocate(byteCount: max(configuration.sendBufferSize, 2 * WebSocketFrameEncoder.maxHeaderLength),
                           alignment: 16)
    }

    deinit { output.deallocate() }

    // MARK: Receiving

    /// Feeds bytes read from the transport. Ignored once the connection is closed.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        withExtendedLifetime(self) {
            var input = bytes
            while state != .closed {
                let event: WebSocketFrameEvent?
                do throws(WebSocketProtocolError) {
                    event = try decoder.next(&input)
                } catch {
                    fail(error)
                    return
                }
                guard let event else { return }
                handle(event)
            }
        }
    }

    private func handle(_ event: WebSocketFrameEvent) {
        switch event {
        case .messageStart(let opcode):
            delegate?.webSocket(self, didReceiveMessageStart: opcode)
        case .data(let bytes):
            delegate?.webSocket(self, didReceiveData: bytes)
        case .messageEnd:
            delegate?.webSocketDidReceiveMessageEnd(self)
        case .ping(let payload):
            if configuration.autoPong && state == .open {
                sendFrame(.pong, fin: true, payload, UnsafeRawBufferPointer(start: nil, count: 0))
            }
            delegate?.webSocket(self, didReceivePing: payload)
        case .pong(let payload):
            delegate?.webSocket(self, didReceivePong: payload)
        case .close(let code, let reason):
            if state == .open { sendClose(code: code, reason: "") }
            state = .closed
            delegate?.webSocket(self, didReceiveClose: code, reason: reason)
        }
    }

    private func fail(_ error: WebSocketProtocolError) {
        if state == .open { sendClose(code: error.closeCode, reason: error.reason) }
        state = .closed
        delegate?.webSocket(self, didFail: error.closeCode, reason: error.reason)
    }

    // MARK: Sending

    /// Sends binary payload as a whole message, or as one fragment of it with `fin: false` (the
    /// next sends continue the message until one has `fin: true`). False when the connection is
    /// no longer open or a text message is in progress.
    @discardableResult
    public func sendBinary(_ payload: UnsafeRawBufferPointer, fin: Bool = true) -> Bool {
        sendData(.binary, payload, UnsafeRawBufferPointer(start: nil, count: 0), fin: fin)
    }

    /// Same, with the payload given in two parts sent as one frame (e.g. a channel byte and its
    /// data), so the caller need not join them.
    @discardableResult
    public func sendBinary(_ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer, fin: Bool = true) -> Bool {
        sendData(.binary, head, body, fin: fin)
    }

    /// Sends text; the caller guarantees the bytes are UTF-8 (a fragment may end inside a sequence
    /// that the next fragment completes).
    @discardableResult
    public func sendText(_ payload: UnsafeRawBufferPointer, fin: Bool = true) -> Bool {
        sendData(.text, payload, UnsafeRawBufferPointer(start: nil, count: 0), fin: fin)
    }

    @discardableResult
    public func sendText(_ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer, fin: Bool = true) -> Bool {
        sendData(.text, head, body, fin: fin)
    }

    @discardableResult
    public func sendText(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { sendText(UnsafeRawBufferPointer($0)) }
    }

    /// Sends a ping; false if the payload exceeds 125 bytes or a close was sent.
    @discardableResult
    public func ping(_ payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> Bool {
        sendControl(.ping, payload)
    }

    /// Sends an unsolicited pong (a heartbeat); false if the payload exceeds 125 bytes or a close was sent.
    @discardableResult
    public func pong(_ payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> Bool {
        sendControl(.pong, payload)
    }

    /// Starts the closing handshake: sends a close frame (code nil: empty payload; the reason is
    /// cut to fit 123 bytes) and stops sending data. The peer's answer arrives as `didReceiveClose`.
    /// Does nothing unless open.
    public func close(code: WebSocketCloseCode? = .normalClosure, reason: String = "") {
        guard state == .open else { return }
        sendClose(code: code, reason: reason)
        state = .closeSent
    }

    private func sendData(_ kind: WebSocketOpcode, _ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer,
                          fin: Bool) -> Bool {
        guard state == .open else { return false }
        let opcode: WebSocketOpcode
        if let current = outgoingOpcode {
            guard current == kind else { return false }
            opcode = .continuation
        } else {
            opcode = kind
        }
        outgoingOpcode = fin ? nil : kind
        sendFrame(opcode, fin: fin, head, body)
        return true
    }

    private func sendControl(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) -> Bool {
        guard state == .open, payload.count <= WebSocketFrameEncoder.maxControlPayloadLength else { return false }
        sendFrame(opcode, fin: true, payload, UnsafeRawBufferPointer(start: nil, count: 0))
        return true
    }

    private func sendClose(code: WebSocketCloseCode?, reason: String) {
        let payload = WebSocketFrameEncoder.closePayload(code: code, reason: reason)
        payload.withUnsafeBytes { sendFrame(.close, fin: true, $0, UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    /// Header and small payloads are gathered into `output` and written once; a large unmasked
    /// payload is written straight from the caller's memory; a masked one is masked through
    /// `output` in buffer-sized pieces.
    private func sendFrame(_ opcode: WebSocketOpcode, fin: Bool, _ head: UnsafeRawBufferPointer,
                           _ body: UnsafeRawBufferPointer) {
        let key = role == .client ? maskingKeySource() : nil
        outputCount = WebSocketFrameEncoder.writeHeader(opcode: opcode, fin: fin,
                                                        payloadLength: head.count + body.count,
                                                        maskingKey: key, into: output)
        append(head, key: key, keyOffset: 0)
        append(body, key: key, keyOffset: head.count)
        flush()
    }

    private func append(_ bytes: UnsafeRawBufferPointer, key: WebSocketMaskingKey?, keyOffset: Int) {
        guard let key else {
            if bytes.count <= output.count - outputCount {
                copyIntoOutput(bytes)
            } else {
                flush()
                delegate?.webSocket(self, write: bytes)
            }
            return
        }
        var rest = bytes
        var offset = keyOffset
        while !rest.isEmpty {
            if outputCount == output.count { flush() }
            let count = min(rest.count, output.count - outputCount)
            let destination = UnsafeMutableRawBufferPointer(rebasing: output[outputCount..<(outputCount + count)])
            key.apply(UnsafeRawBufferPointer(rebasing: rest[..<count]), into: destination, keyOffset: offset)
            outputCount += count
            offset += count
            rest = UnsafeRawBufferPointer(rebasing: rest[count...])
        }
    }

    private func copyIntoOutput(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        UnsafeMutableRawBufferPointer(rebasing: output[outputCount..<(outputCount + bytes.count)]).copyMemory(from: bytes)
        outputCount += bytes.count
    }

    private func flush() {
        guard outputCount > 0 else { return }
        let count = outputCount
        outputCount = 0
        delegate?.webSocket(self, write: UnsafeRawBufferPointer(rebasing: output[..<count]))
    }
}
