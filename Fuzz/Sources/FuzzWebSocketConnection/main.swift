import FuzzSupport
import WebSocket

/// Echoes every message back (the sending paths and fragmentation run too).
final class Echo: WebSocketConnectionDelegate {
    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) {}
    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {}
    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {
        _ = connection.sendBinary(bytes, fin: false)
    }
    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {
        _ = connection.sendBinary(UnsafeRawBufferPointer(start: nil, count: 0), fin: true)
    }
    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {}
    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {}
}

// A connection in either role, with small limits under the selector's bit 6.
fuzzMain { bytes in
    let input = FuzzInput(bytes)
    let role: WebSocketRole = input.selector & 0x80 == 0 ? .server : .client
    let small = input.selector & 0x40 != 0
    let configuration = WebSocketConnection.Configuration(
        maxMessageSize: small ? 100 : 1 << 20, receiveScratchSize: small ? 16 : 16 * 1024,
        sendBufferSize: small ? 32 : 64 * 1024, autoPong: input.selector & 0x20 == 0)
    let connection = WebSocketConnection(role: role, configuration: configuration,
                                         maskingKeySource: { WebSocketMaskingKey(1, 2, 3, 4) })
    let echo = Echo()
    connection.delegate = echo
    input.chunks(of: input.chunkSize) { connection.receive($0) }
}
