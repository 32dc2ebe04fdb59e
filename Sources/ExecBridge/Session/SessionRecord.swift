import ExecModel

/// What is known of a session once it ended: the value observers (the audit) and the worker's
/// counters read, so that nothing outside the session holds or inspects a live `Bridge`.
public struct SessionRecord: Sendable {
    public var request: ExecRequest
    public var context: RequestContext?
    /// Payload bytes moved per channel.
    public var bytes: [Channel: Int]
    public var outcome: Bridge.Outcome?
    /// The most bytes the session held toward either side at once.
    public var peakPending: Int
    /// `--record-dir`: the session's asciicast file (nil: not recorded).
    public var recording: String?

    public init(_ bridge: Bridge) {
        request = bridge.request
        context = bridge.context
        bytes = bridge.bytes
        outcome = bridge.outcome
        peakPending = bridge.peakPending
        recording = bridge.tap?.recording
    }
}
