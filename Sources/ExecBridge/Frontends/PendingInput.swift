import ExecModel

/// Input a client sent before its session's bridge exists: stdin bytes (owned: the codec's buffer
/// is gone by the time the bridge starts), the end of stdin, and the last resize (the first size
/// must not be lost, kubernetes#47990). Replayed in that order when the session starts.
/// `isOverLimit` tells the holder to stop reading: a frontend that keeps reading past the channel
/// budget would hold without bound what a slow backend cannot take yet.
struct PendingInput {
    private(set) var stdin: [UInt8] = []
    private(set) var stdinEnded = false
    private(set) var resize: TerminalSize?
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var isOverLimit: Bool { stdin.count > limit }
    var holdsStdin: Bool { !stdin.isEmpty }

    mutating func append(stdin bytes: UnsafeRawBufferPointer) { stdin.append(contentsOf: bytes) }
    mutating func endStdin() { stdinEnded = true }
    mutating func resized(_ size: TerminalSize) { resize = size }

    /// Hands everything held to `bridge` as events of `frontend`, and forgets it.
    mutating func replay(into bridge: Bridge, from frontend: SessionEndpoint) {
        let bytes = stdin
        let ended = stdinEnded
        let size = resize
        discard()
        if !bytes.isEmpty { bytes.withUnsafeBytes { bridge.endpoint(frontend, emitted: .data(.stdin, $0)) } }
        if ended { bridge.endpoint(frontend, emitted: .halfClose(.stdin)) }
        if let size { bridge.endpoint(frontend, emitted: .resize(size)) }
    }

    /// The session will not start: nothing is delivered.
    mutating func discard() {
        stdin = []
        stdinEnded = false
        resize = nil
    }
}
