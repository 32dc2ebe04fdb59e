/// Incremental frame decoder for one direction of a connection (RFC 6455 §5). Feed it whatever
/// bytes arrived — split anywhere — and pull events until it returns nil:
///
///     var input = received
///     while let event = try decoder.next(&input) { ... }
///
/// Data payloads are not assembled: unmasked frames are handed out as slices of the input itself;
/// masked ones are unmasked into a bounded internal scratch buffer, the one copy masking forces.
/// Any violation throws a `WebSocketProtocolError` carrying the close code to answer with, and the
/// decoder stays failed.
public final class WebSocketFrameDecoder {
    public let role: WebSocketRole
    /// Largest total payload of a data message; beyond it the decoder fails with 1009.
    public let maxMessageSize: Int

    /// True between `messageStart` and `messageEnd`.
    public var isMessageInProgress: Bool { messageOpcode != nil }

    private enum State {
        case header
        case data(remaining: UInt64, fin: Bool)
        case control(WebSocketOpcode, length: Int)
        case failed(WebSocketProtocolError)
    }

    private static let headerOffset = 0
    private static let controlOffset = 16
    private static let scratchOffset = 16 + 128

    private var state = State.header
    /// One allocation: header bytes gathered across reads, the current control payload, and the
    /// unmasking scratch for data.
    private let storage: UnsafeMutableRawBufferPointer
    private let scratchCapacity: Int
    private var headerCount = 0
    private var controlCount = 0
    private var maskingKey: WebSocketMaskingKey?
    /// Position within the current frame's payload, modulo 4, for the masking key.
    private var maskOffset = 0
    private var messageOpcode: WebSocketOpcode?
    private var messageSize: UInt64 = 0
    private var utf8 = UTF8Validator()

    /// - Parameters:
    ///   - role: `.server` decodes client frames (which must be masked); `.client` decodes server
    ///     frames (which must not be).
    ///   - maxMessageSize: limit on a data message's total payload (default 1 MiB).
    ///   - scratchCapacity: largest `data` chunk handed out from a masked frame.
    public init(role: WebSocketRole, maxMessageSize: Int = 1 << 20, scratchCapacity: Int = 16 * 1024) {
        self.role = role
        self.maxMessageSize = max(0, maxMessageSize)
        self.scratchCapacity = max(1, scratchCapacity)
        storage = .allocate(byteCount: Self.scratchOffset + self.scratchCapacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Consumes bytes from the front of `input` and returns the next event, or nil once `input` is
    /// used up without completing one (then `input` is empty; call again with more bytes).
    public func next(_ input: inout UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> WebSocketFrameEvent? {
        while true {
            switch state {
            case .failed(let error):
                throw error

            case .header:
                guard try readHeader(&input) else { return nil }
                if case .data = state, let opcode = pendingStart {
                    pendingStart = nil
                    return .messageStart(opcode)
                }

            case .data(let remaining, let fin):
                if remaining == 0 {
                    state = .header
                    if fin { return try endMessage() }
                    continue
                }
                guard !input.isEmpty else { return nil }
                var count = Int(min(UInt64(input.count), remaining))
                let chunk: UnsafeRawBufferPointer
                if let key = maskingKey {
                    count = min(count, scratchCapacity)
                    let scratch = UnsafeMutableRawBufferPointer(
                        rebasing: storage[Self.scratchOffset..<(Self.scratchOffset + count)])
                    key.apply(UnsafeRawBufferPointer(rebasing: input[..<count]), into: scratch, keyOffset: maskOffset)
                    maskOffset = (maskOffset + count) & 3
                    chunk = UnsafeRawBufferPointer(scratch)
                } else {
                    chunk = UnsafeRawBufferPointer(rebasing: input[..<count])
                }
                input = UnsafeRawBufferPointer(rebasing: input[count...])
                state = .data(remaining: remaining - UInt64(count), fin: fin)
                if messageOpcode == .text && !utf8.validate(chunk) {
                    throw fail(.invalidFramePayloadData, "text message is not valid UTF-8")
                }
                return .data(chunk)

            case .control(let opcode, let length):
                let count = min(input.count, length - controlCount)
                if count > 0 {
                    let start = Self.controlOffset + controlCount
                    let destination = UnsafeMutableRawBufferPointer(rebasing: storage[start..<(start + count)])
                    let source = UnsafeRawBufferPointer(rebasing: input[..<count])
                    if let key = maskingKey {
                        key.apply(source, into: destination, keyOffset: controlCount)
                    } else {
                        destination.copyMemory(from: source)
                    }
                    input = UnsafeRawBufferPointer(rebasing: input[count...])
                    controlCount += count
                }
                guard controlCount == length else { return nil }
                state = .header
                return try controlEvent(opcode, UnsafeRawBufferPointer(
                    rebasing: storage[Self.controlOffset..<(Self.controlOffset + length)]))
            }
        }
    }

    /// Set by `readHeader` when a frame starts a new message, so `messageStart` is reported before
    /// its payload.
    private var pendingStart: WebSocketOpcode?

    /// Gathers and checks one frame header. Returns false when `input` ran out first.
    private func readHeader(_ input: inout UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> Bool {
        guard gather(upTo: 2, from: &input) else { return false }
        let first = storage[Self.headerOffset]
        let second = storage[Self.headerOffset + 1]
        let fin = first & 0x80 != 0
        let masked = second & 0x80 != 0
        let shortLength = second & 0x7F

        if first & 0x70 != 0 {
            throw fail(.protocolError, "reserved bits set without a negotiated extension")
        }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
            throw fail(.protocolError, "unknown opcode \(first & 0x0F)")
        }
        switch role {
        case .server where !masked:
            throw fail(.protocolError, "client frame is not masked")
        case .client where masked:
            throw fail(.protocolError, "server frame is masked")
        default:
            break
        }
        if opcode.isControl {
            if !fin { throw fail(.protocolError, "fragmented \(opcode) frame") }
            if shortLength > 125 { throw fail(.protocolError, "\(opcode) payload longer than 125 bytes") }
        } else if opcode == .continuation {
            if messageOpcode == nil { throw fail(.protocolError, "continuation frame without a message in progress") }
        } else if messageOpcode != nil {
            throw fail(.protocolError, "new \(opcode) message before the previous one ended")
        }

        let lengthBytes = shortLength == 127 ? 8 : (shortLength == 126 ? 2 : 0)
        let headerLength = 2 + lengthBytes + (masked ? 4 : 0)
        guard gather(upTo: headerLength, from: &input) else { return false }
        headerCount = 0

        var length = UInt64(shortLength)
        if lengthBytes > 0 {
            length = 0
            for i in 0..<lengthBytes {
                length = length << 8 | UInt64(storage[Self.headerOffset + 2 + i])
            }
            if length & (1 << 63) != 0 {
                throw fail(.protocolError, "payload length has the most significant bit set")
            }
        }
        if masked {
            let k = Self.headerOffset + 2 + lengthBytes
            maskingKey = WebSocketMaskingKey(storage[k], storage[k + 1], storage[k + 2], storage[k + 3])
        } else {
            maskingKey = nil
        }
        maskOffset = 0

        if opcode.isControl {
            controlCount = 0
            state = .control(opcode, length: Int(length))
            return true
        }
        if opcode != .continuation {
            messageOpcode = opcode
            messageSize = 0
            utf8 = UTF8Validator()
            pendingStart = opcode
        }
        // messageSize ≤ maxMessageSize and length < 2^63, so the sum cannot overflow.
        if length > UInt64(maxMessageSize) - messageSize {
            throw fail(.messageTooBig, "message larger than \(maxMessageSize) bytes")
        }
        messageSize += length
        state = .data(remaining: length, fin: fin)
        return true
    }

    /// Copies header bytes from `input` until `count` are held; false if `input` ran out first.
    private func gather(upTo count: Int, from input: inout UnsafeRawBufferPointer) -> Bool {
        let take = min(count - headerCount, input.count)
        if take > 0 {
            let start = Self.headerOffset + headerCount
            UnsafeMutableRawBufferPointer(rebasing: storage[start..<(start + take)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: input[..<take]))
            input = UnsafeRawBufferPointer(rebasing: input[take...])
            headerCount += take
        }
        return headerCount >= count
    }

    private func endMessage() throws(WebSocketProtocolError) -> WebSocketFrameEvent {
        if messageOpcode == .text && !utf8.isComplete {
            throw fail(.invalidFramePayloadData, "text message ends inside a UTF-8 sequence")
        }
        messageOpcode = nil
        messageSize = 0
        return .messageEnd
    }

    private func controlEvent(_ opcode: WebSocketOpcode,
                              _ payload: UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> WebSocketFrameEvent {
        switch opcode {
        case .ping: return .ping(payload)
        case .pong: return .pong(payload)
        default: break
        }
        if payload.isEmpty { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { throw fail(.protocolError, "close frame with a 1-byte payload") }
        let code = WebSocketCloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
        guard code.isValidOnWire else { throw fail(.protocolError, "invalid close code \(code.rawValue)") }
        let reasonBytes = UnsafeRawBufferPointer(rebasing: payload[2...])
        var validator = UTF8Validator()
        guard validator.validate(reasonBytes), validator.isComplete else {
            throw fail(.invalidFramePayloadData, "close reason is not valid UTF-8")
        }
        return .close(code: code, reason: String(decoding: reasonBytes, as: UTF8.self))
    }

    private func fail(_ code: WebSocketCloseCode, _ reason: String) -> WebSocketProtocolError {
        let error = WebSocketProtocolError(code, reason)
        state = .failed(error)
        return error
    }
}
