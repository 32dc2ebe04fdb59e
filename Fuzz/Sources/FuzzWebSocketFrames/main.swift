import FuzzSupport
import WebSocket

// The frame decoder on its own, in either role (selector's high bit), input split at the chunk size.
fuzzMain { bytes in
    let input = FuzzInput(bytes)
    let role: WebSocketRole = input.selector & 0x80 == 0 ? .server : .client
    let decoder = WebSocketFrameDecoder(role: role, maxMessageSize: input.selector & 0x40 == 0 ? 1 << 20 : 100,
                                        scratchCapacity: 64)
    var failed = false
    input.chunks(of: input.chunkSize) { chunk in
        var rest = chunk
        while !failed {
            do {
                guard let event = try decoder.next(&rest) else { break }
                if case .data(let payload) = event { expect(payload.count <= 1 << 20, "chunk of \(payload.count) bytes") }
            } catch {
                failed = true
            }
        }
    }
}
