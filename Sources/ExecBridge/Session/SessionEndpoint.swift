import ExecModel
import Reactor

/// Why one end of a session stopped.
public enum EndReason: String, Sendable {
    /// The session ran to its end (status delivered).
    case completed
    /// The client went away (socket closed, stream reset, GOAWAY) before the end.
    case clientGone = "client gone"
    /// The backend went away (upstream connection lost, process could not be watched) without a status.
    case backendGone = "backend gone"
    /// A stream-creation or idle timeout.
    case timeout
    /// The gateway is shutting down and the drain time ran out.
    case shutdown
}

/// One end of a session: the frontend (speaking to the client) or the backend (running the
/// command, locally or upstream). The bridge holds both and moves `SessionEvent`s between them.
public protocol SessionEndpoint: AnyObject {
    /// An event from the other end. Payload is borrowed: write it onward now, once.
    func receive(_ event: SessionEvent)
    /// Bytes this end has accepted from the other but not yet handed on (to the socket, the pipe,
    /// the peer's flow-control window). The bridge pauses the producer while this is over budget.
    var pendingBytes: Int { get }
    /// Stop (false) or resume (true) producing events: stop reading the socket or pipe, withhold
    /// flow-control credit. Bytes already read may still be delivered.
    func setReading(_ on: Bool)
    /// The session is over or the other end is gone: release everything. For a backend this means
    /// ending the process or upstream session (a backend stays alive on its own until its process
    /// is reaped). For a frontend after `.completed` this means the orderly teardown.
    func terminate(_ reason: EndReason)
    /// Whether bytes that sit undrained at this end for `--stall-timeout` mean a stalled peer.
    /// True for a network peer (a client, an upstream), which must not hold a session's buffers
    /// forever; false for a local process, which may compute for an hour before it reads its
    /// input, its pipe bounding what it holds.
    var stallsMeanAStuckPeer: Bool { get }
}

extension SessionEndpoint {
    public var stallsMeanAStuckPeer: Bool { true }
}

/// What an endpoint tells the bridge.
public protocol SessionEndpointDelegate: AnyObject {
    /// The endpoint produced an event for the other end.
    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent)
    /// `pendingBytes` fell to the low-water mark: the other end may produce again.
    func endpointDidDrain(_ endpoint: SessionEndpoint)
    /// The endpoint is gone and will emit nothing more (client disconnected, backend lost).
    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason)
}
