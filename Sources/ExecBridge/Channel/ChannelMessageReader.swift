import ExecModel

/// Reads channel messages as the WebSocket codec streams them (start, chunks, end), without
/// assembling them: the first byte names the channel (`'0'+channel` in the base64 subprotocols),
/// the rest is payload handed on chunk by chunk (base64 decoded through a bounded scratch buffer).
/// With `closeSignal` (v5, binary) a message starting with 255 must be exactly `[255, channel]`.
///
/// Like Kubernetes' wsstream: empty messages are ignored, text and binary frames are both read
/// (the subprotocol, not the opcode, decides the encoding), and a message whose base64 is invalid
/// is dropped from the bad character on (`badBase64`, not fatal).
final class ChannelMessageReader {
    enum Event {
        /// Payload of `channel` (never empty). Borrowed for the duration of the call.
        case data(UInt8, UnsafeRawBufferPointer)
        /// A v5 close signal for `channel`.
        case closeSignal(UInt8)
    }

    enum Failure: Error, Equatable, CustomStringConvertible {
        /// A 255 message that is not exactly `[255, channel]`: fatal in v5.
        case badCloseSignal(length: Int)
        /// Invalid or truncated base64 on `channel`; the rest of that message is dropped.
        case badBase64(channel: UInt8)

        var description: String {
            switch self {
            case .badCloseSignal(let length): return "close signal of \(length) bytes (must be [255, channel])"
            case .badBase64(let channel): return "invalid base64 on channel \(channel)"
            }
        }
    }

    private enum State {
        case idle
        case awaitingChannel
        case payload(UInt8)
        case closeSignal(length: Int, channel: UInt8)
        case discarding
    }

    let base64: Bool
    let closeSignal: Bool
    private var state = State.idle
    private var decoder = ChannelBase64Decoder()
    private let scratch: UnsafeMutableRawBufferPointer

    init(base64: Bool, closeSignal: Bool, scratchSize: Int = 16 * 1024) {
        self.base64 = base64
        self.closeSignal = closeSignal && !base64
        scratch = .allocate(byteCount: base64 ? max(3, scratchSize) : 0, alignment: 16)
    }

    deinit { scratch.deallocate() }

    /// A message begins (text or binary alike).
    func start() {
        state = .awaitingChannel
        decoder.reset()
    }

    /// Payload bytes of the current message.
    func feed(_ chunk: UnsafeRawBufferPointer, _ emit: (Event) -> Void) throws(Failure) {
        var rest = chunk
        while !rest.isEmpty {
            switch state {
            case .idle, .discarding:
                return
            case .awaitingChannel:
                let first = rest[0]
                rest = UnsafeRawBufferPointer(rebasing: rest[1...])
                if closeSignal && first == Channel.closeSignal {
                    state = .closeSignal(length: 1, channel: 0)
                } else {
                    state = .payload(base64 ? first &- UInt8(ascii: "0") : first)
                }
            case .closeSignal(let length, let channel):
                state = .closeSignal(length: length + rest.count, channel: length == 1 ? rest[0] : channel)
                return
            case .payload(let channel):
                guard base64 else {
                    emit(.data(channel, rest))
                    return
                }
                try decodeBase64(&rest, channel: channel, emit)
            }
        }
    }

    /// The current message ended.
    func end(_ emit: (Event) -> Void) throws(Failure) {
        let ended = state
        state = .idle
        switch ended {
        case .closeSignal(let length, let channel):
            guard length == 2 else { throw .badCloseSignal(length: length) }
            emit(.closeSignal(channel))
        case .payload(let channel) where base64 && !decoder.isComplete:
            throw .badBase64(channel: channel)
        default:
            break
        }
    }

    private func decodeBase64(_ rest: inout UnsafeRawBufferPointer, channel: UInt8, _ emit: (Event) -> Void) throws(Failure) {
        // At most a scratch buffer's worth of output per step.
        let take = min(rest.count, scratch.count / 3 * 4)
        let piece = UnsafeRawBufferPointer(rebasing: rest[..<take])
        rest = UnsafeRawBufferPointer(rebasing: rest[take...])
        let (written, valid) = decoder.decode(piece, into: scratch)
        if written > 0 { emit(.data(channel, UnsafeRawBufferPointer(rebasing: scratch[..<written]))) }
        guard valid else {
            state = .discarding
            throw .badBase64(channel: channel)
        }
    }
}
