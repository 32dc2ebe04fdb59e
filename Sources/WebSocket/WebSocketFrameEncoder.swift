/// Frame serialization (RFC 6455 §5.2). The header is written apart from the payload so a server
/// can hand the payload to the socket untouched; a client masks the payload with `mask`, once, into
/// its output buffer.
public enum WebSocketFrameEncoder {
    /// 2 bytes + 8-byte extended length + 4-byte masking key.
    public static let maxHeaderLength = 14

    /// Largest payload of a control frame (§5.5).
    public static let maxControlPayloadLength = 125

    public static func headerLength(payloadLength: Int, masked: Bool) -> Int {
        let lengthBytes = payloadLength <= 125 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
        return 2 + lengthBytes + (masked ? 4 : 0)
    }

    /// Writes the frame header into `buffer` and returns its length. Pass a masking key in the
    /// client role (every client frame must be masked) and nil in the server role. Lengths use the
    /// shortest encoding.
    @discardableResult
    public static func writeHeader(opcode: WebSocketOpcode, fin: Bool, payloadLength: Int,
                                   maskingKey: WebSocketMaskingKey?,
                                   into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(payloadLength >= 0, "negative payload length")
        let length = headerLength(payloadLength: payloadLength, masked: maskingKey != nil)
        precondition(buffer.count >= length, "header buffer too small")
        buffer[0] = (fin ? 0x80 : 0) | opcode.rawValue
        let maskBit: UInt8 = maskingKey != nil ? 0x80 : 0
        var index = 2
        if payloadLength <= 125 {
            buffer[1] = maskBit | UInt8(payloadLength)
        } else if payloadLength <= 0xFFFF {
            buffer[1] = maskBit | 126
            buffer[2] = UInt8(payloadLength >> 8)
            buffer[3] = UInt8(payloadLength & 0xFF)
            index = 4
        } else {
            buffer[1] = maskBit | 127
            let value = UInt64(payloadLength)
            for i in 0..<8 { buffer[2 + i] = UInt8(truncatingIfNeeded: value >> (56 - 8 * i)) }
            index = 10
        }
        if let key = maskingKey {
            buffer[index] = key.b0
            buffer[index + 1] = key.b1
            buffer[index + 2] = key.b2
            buffer[index + 3] = key.b3
        }
        return length
    }

    /// XORs `source` with the masking key into `destination` (at least as long; may be the same
    /// memory). `keyOffset` is the position of `source`'s first byte within the frame payload, so a
    /// payload can be masked in slices.
    public static func mask(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                            key: WebSocketMaskingKey, keyOffset: Int = 0) {
        key.apply(source, into: destination, keyOffset: keyOffset)
    }

    /// A whole frame as one array: for small frames and tests, not the data path.
    public static func encodeFrame(opcode: WebSocketOpcode, fin: Bool = true, payload: UnsafeRawBufferPointer,
                                   maskingKey: WebSocketMaskingKey?) -> [UInt8] {
        let header = headerLength(payloadLength: payload.count, masked: maskingKey != nil)
        return [UInt8](unsafeUninitializedCapacity: header + payload.count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            writeHeader(opcode: opcode, fin: fin, payloadLength: payload.count, maskingKey: maskingKey, into: raw)
            let body = UnsafeMutableRawBufferPointer(rebasing: raw[header...])
            if let key = maskingKey {
                key.apply(payload, into: body, keyOffset: 0)
            } else if payload.count > 0 {
                body.copyMemory(from: payload)
            }
            initialized = header + payload.count
        }
    }

    /// The payload of a close frame: the code in network order and the reason, cut at a character
    /// boundary to fit 125 bytes. A nil code gives an empty payload (and then no reason).
    public static func closePayload(code: WebSocketCloseCode?, reason: String) -> [UInt8] {
        guard let code else { return [] }
        var payload: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        for character in reason {
            let utf8 = character.utf8
            guard payload.count + utf8.count <= maxControlPayloadLength else { break }
            payload.append(contentsOf: utf8)
        }
        return payload
    }
}
