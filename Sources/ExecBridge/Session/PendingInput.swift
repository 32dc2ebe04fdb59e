import ExecModel

/// Input that arrived before the session could carry it: on a frontend, what a client sent before
/// every channel existed; on a client role, what the caller wrote before the streams were open.
/// Stdin bytes (owned: the buffer they came in is gone by the time they move), the end of stdin,
/// and the last resize (the first size must not be lost, kubernetes#47990), replayed in that order.
/// `isOverLimit` tells the holder to stop reading: one that keeps reading past the channel budget
/// would hold without bound what a slow peer cannot take yet.
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

    /// Holds the input part of `event`; output and the exit never wait here.
    mutating func hold(_ event: SessionEvent) {
        switch event {
        case .data(.stdin, let bytes): append(stdin: bytes)
        case .halfClose(.stdin): endStdin()
        case .resize(let size): resized(size)
        default: break
        }
    }

    /// Hands everything held to `deliver`, in order, and forgets it first (delivery may hold again).
    mutating func replay(_ deliver: (SessionEvent) -> Void) {
        let bytes = stdin
        let ended = stdinEnded
        let size = resize
        discard()
        if !bytes.isEmpty { bytes.withUnsafeBytes { deliver(.data(.stdin, $0)) } }
        if ended { deliver(.halfClose(.stdin)) }
        if let size { deliver(.resize(size)) }
    }

    /// Hands everything held to `bridge` as events of `frontend`.
    mutating func replay(into bridge: Bridge, from frontend: SessionEndpoint) {
        replay { bridge.endpoint(frontend, emitted: $0) }
    }

    /// Everything held, leaving this empty: replaying the copy cannot overlap an access to the
    /// holder's own property (delivery may reach code that holds input again).
    mutating func take() -> PendingInput {
        let taken = self
        discard()
        return taken
    }

    /// The session will not start: nothing is delivered.
    mutating func discard() {
        stdin = []
        stdinEnded = false
        resize = nil
    }
}
