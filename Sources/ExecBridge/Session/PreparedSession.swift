import ExecModel
import Reactor

/// A backend session begun at admission, before its bridge exists: an upstream is dialled while
/// the client still opens its channel streams, so the handshake overlaps the client's set-up
/// instead of following it. Nothing reaches the upstream's exec server before `attach`.
public protocol PreparedSession: AnyObject {
    /// Hands the session to its bridge; from now on events go to `delegate` (a failure that
    /// happened meanwhile, such as a refused dial, on a later loop turn).
    func attach(_ delegate: SessionEndpointDelegate) -> SessionEndpoint
    /// The session never started (creation timeout, client gone): its upstream connection closes.
    func cancel()
}

/// Holds a prepared session for a frontend until the bridge takes it. Dropped without being
/// taken (the frontend went away, the creation timer fired), it cancels the session, so no
/// frontend path can leak an upstream connection.
public final class PreparedBackend {
    private var session: PreparedSession?

    init(_ session: PreparedSession) { self.session = session }

    /// The session, once; nil after.
    func take() -> PreparedSession? {
        defer { session = nil }
        return session
    }

    deinit { session?.cancel() }
}
