import ExecModel

/// Frames channel payload as the WebSocket channel subprotocols want it (spec §6): binary messages
/// `[channel] + payload`, or, for the base64 subprotocols, text messages `'0'+channel` followed by
/// standard base64 of the payload. Long payload is cut so that no message exceeds
/// `maxMessageSize` (client-go sends ≤ 32 KiB messages too; peers size their buffers on it).
/// Used by the server frontend for output and by the client for stdin and resize.
final class ChannelMessageWriter {
    /// Receives one message: `head` (the channel byte or character) then `body`, sent as one frame.
    typealias Send = (_ isText: Bool, _ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer) -> Void

    /// The largest message written, channel byte included.
    static let maxMessageSize = 32 * 1024

    let base64: Bool
    /// Raw payload bytes per message.
    let chunkSize: Int
    /// Where base64 text is encoded (base64 subprotocols only).
    private let scratch: UnsafeMutableRawBufferPointer
    private let heads: UnsafeMutableRawBufferPointer

    init(base64: Bool, maxMessageSize: Int = ChannelMessageWriter.maxMessageSize) {
        self.base64 = base64
        let room = max(5, maxMessageSize) - 1
        chunkSize = base64 ? room / 4 * 3 : room
        scratch = .allocate(byteCount: base64 ? ChannelBase64.encodedLength(chunkSize) : 0, alignment: 16)
        heads = .allocate(byteCount: 2, alignment: 1)
    }

    deinit {
        scratch.deallocate()
        heads.deallocate()
    }

    /// Writes `payload` on `channel` in as many messages as it takes; an empty payload is one
    /// message with the channel alone (the "connected" marker of spec §6).
    func write(channel: UInt8, _ payload: UnsafeRawBufferPointer, send: Send) {
        heads[0] = base64 ? UInt8(ascii: "0") &+ channel : channel
        let head = UnsafeRawBufferPointer(rebasing: heads[0..<1])
        var rest = payload
        repeat {
            let count = min(rest.count, chunkSize)
            let piece = UnsafeRawBufferPointer(rebasing: rest[..<count])
            if base64 {
                let written = ChannelBase64.encode(piece, into: scratch)
                send(true, head, UnsafeRawBufferPointer(rebasing: scratch[..<written]))
            } else {
                send(false, head, piece)
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[count...])
        } while !rest.isEmpty
    }

    /// The v5 close signal `[255, channel]` (binary subprotocols only: v5 has no base64 form).
    func writeCloseSignal(channel: UInt8, send: Send) {
        heads[0] = Channel.closeSignal
        heads[1] = channel
        send(false, UnsafeRawBufferPointer(rebasing: heads[0..<2]), UnsafeRawBufferPointer(start: nil, count: 0))
    }
}
