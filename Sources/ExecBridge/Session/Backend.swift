import ExecModel
import Reactor

/// Where sessions run: the embedded local backend, or one upstream exec server.
public protocol Backend: AnyObject {
    /// Checks, before any upgrade, that the target exists and may be used; the error becomes an HTTP
    /// answer (404 Status for an unknown pod).
    func check(_ request: ExecRequest) -> RequestError?
    /// Starts one session on `loop`. Failures to start are reported as `.exit(.failure…)` events
    /// through the delegate (on a later loop turn), never thrown.
    func startSession(_ request: ExecRequest, on loop: EventLoop, delegate: SessionEndpointDelegate) -> SessionEndpoint
    /// Begins `request`'s session at admission, before the client has every channel (an upstream
    /// dialled early). Nil: nothing to gain, `startSession` does it all when the bridge starts.
    func prepareSession(_ request: ExecRequest, on loop: EventLoop) -> PreparedSession?
    /// The worker stops: connections kept open between sessions (a pool's) close.
    func closeConnections()
    /// The pods this backend serves itself, when it has an inventory (policy checks of targets).
    var inventory: Inventory? { get }
    /// Whether the gateway itself is the cluster here, answering Kubernetes discovery (the embedded
    /// backend); an upstream answers discovery itself.
    var answersDiscovery: Bool { get }
    /// How the audit log names this backend.
    var auditKind: String { get }
}

extension Backend {
    public var inventory: Inventory? { nil }
    public var answersDiscovery: Bool { false }
    public var auditKind: String { String(describing: type(of: self)) }
    public func prepareSession(_ request: ExecRequest, on loop: EventLoop) -> PreparedSession? { nil }
    public func closeConnections() {}
}

/// A backend that knows how many sessions (processes, upstream connections) are still alive.
public protocol BackendActivity: AnyObject {
    var activeSessions: Int { get }
}

import Glibc
