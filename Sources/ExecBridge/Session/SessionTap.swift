import ExecModel
import Logging
import Reactor

/// Sees every event a Bridge moves, in order, without changing it (`--record-dir` is one). Called on the
/// session's loop; the payload of a `.data` event is valid only during the call.
public protocol SessionTap: AnyObject {
    /// `fromClient`: the event came from the frontend (stdin, resize), else from the backend.
    func record(_ event: SessionEvent, fromClient: Bool)
    /// The session ended; no event follows.
    func finish()
    /// Where the session was recorded, for its audit line (nil: nowhere).
    var recording: String? { get }
}

/// Makes the tap of each session as it starts (nil: this session has none).
public protocol SessionTapFactory: Sendable {
    func tap(for request: ExecRequest, loop: EventLoop, logger: Logger) -> (any SessionTap)?
}
