import WebSocket
import XCTest

/// Decoder events with their bytes copied out, so tests can compare them.
enum Recorded: Equatable, CustomStringConvertible {
    case start(WebSocketOpcode)
    case data([UInt8])
    case end
    case ping([UInt8])
    case pong([UInt8])
    case close(UInt16?, String)

    init(_ event: WebSocketFrameEvent) {
        switch event {
        case .messageStart(let opcode): self = .start(opcode)
        case .data(let bytes): self = .data(Array(bytes))
        case .messageEnd: self = .end
        case .ping(let bytes): self = .ping(Array(bytes))
        case .pong(let bytes): self = .pong(Array(bytes))
        case .close(let code, let reason): self = .close(code?.rawValue, reason)
        }
    }

    var description: String {
        switch self {
        case .start(let opcode): return "start(\(opcode))"
        case .data(let bytes): return "data(\(bytes.count) bytes)"
        case .end: return "end"
        case .ping(let bytes): return "ping(\(bytes))"
        case .pong(let bytes): return "pong(\(bytes))"
        case .close(let code, let reason): return "close(\(code.map(String.init) ?? "nil"), \(reason))"
        }
    }
}

struct DecodeResult {
    var events: [Recorded] = []
    var error: WebSocketProtocolError?
}

/// Feeds `bytes` to a fresh decoder in pieces cut at `cuts`, recording events until an error.
/// Adjacent data chunks are merged, since where chunks split depends on the reads.
func decode(_ bytes: [UInt8], role: WebSocketRole, cuts: [Int] = [], maxMessageSize: Int = 1 << 20,
            scratchCapacity: Int = 16 * 1024) -> DecodeResult {
    let decoder = WebSocketFrameDecoder(role: role, maxMessageSize: maxMessageSize, scratchCapacity: scratchCapacity)
    var result = DecodeResult()
    let bounds = [0] + cuts + [bytes.count]
    bytes.withUnsafeBytes { all in
        for i in 0..<(bounds.count - 1) where result.error == nil {
            var input = UnsafeRawBufferPointer(rebasing: all[bounds[i]..<bounds[i + 1]])
            do throws(WebSocketProtocolError) {
                while let event = try decoder.next(&input) { append(Recorded(event), to: &result.events) }
                XCTAssertEqual(input.count, 0, "decoder returned nil with input left")
            } catch {
                result.error = error
            }
        }
    }
    return result
}

private func append(_ event: Recorded, to events: inout [Recorded]) {
    if case .data(let more) = event, case .data(let previous)? = events.last {
        events[events.count - 1] = .data(previous + more)
    } else if case .data(let bytes) = event, bytes.isEmpty {
        return
    } else {
        events.append(event)
    }
}

func frame(_ opcode: WebSocketOpcode, fin: Bool = true, _ payload: [UInt8], key: WebSocketMaskingKey? = nil) -> [UInt8] {
    payload.withUnsafeBytes { WebSocketFrameEncoder.encodeFrame(opcode: opcode, fin: fin, payload: $0, maskingKey: key) }
}

let testKey = WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D)

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
}
