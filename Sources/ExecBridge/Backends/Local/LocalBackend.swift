import ExecModel
import Logging
import Reactor

/// The embedded backend: runs each session's command as a local child process (pipes, or a pty
/// for `tty`), with the working directory, environment and user of its inventory entry.
///
/// `@unchecked Sendable`: the inventory and accounts change on a reload, on the loop of the one
/// worker that owns this backend (one backend per loop), where they are also read.
public final class LocalBackend: Backend, BackendActivity, @unchecked Sendable {
    /// Nil: every target is accepted and runs with the defaults (directory `/`, minimal env, the
    /// gateway's own user).
    public private(set) var inventory: Inventory?
    public var answersDiscovery: Bool { true }
    public var auditKind: String { "local" }
    /// How long a terminated command gets after hangup/stdin EOF before SIGTERM, and after SIGTERM
    /// before SIGKILL.
    public let graceSeconds: Double
    let logger: Logger
    /// The inventory's users, resolved once at startup (never a passwd lookup on a loop).
    private var accounts: [String: Result<UserAccount, UserAccount.Unknown>]

    /// This backend's children not yet reaped.
    /// This backend's children not yet reaped, plus (for the whole process) sessions being swept
    /// and escaped processes not yet gone: a draining gateway waits for them too.
    public var activeSessions: Int { counter.value.load(ordering: .relaxed) + ChildReaper.shared.pendingWork }
    private let counter = LocalProcessSession.SessionCounter()

    public init(inventory: Inventory?, logger: Logger? = nil, graceSeconds: Double = 5) {
        self.inventory = inventory
        self.logger = logger ?? Logger(label: "execbridge.local", factory: { _ in SwiftLogNoOpLogHandler() })
        self.graceSeconds = graceSeconds
        let users = Set(inventory?.pods.flatMap { $0.containers.compactMap(\.user) } ?? [])
        self.accounts = UserAccount.resolveAll(users)
        // Descendants that escape their session by a double fork come back to the gateway.
        ChildReaper.shared.becomeSubreaper(logger: self.logger)
    }

    /// 404 for an unknown namespace, pod or container (with an inventory); 400 when the container is
    /// omitted and the pod has several, or for `attach` (there is no running process to attach to).
    public func check(_ request: ExecRequest) -> RequestError? {
        if request.kind == .attach {
            return .badRequest("attach is not supported by the local backend")
        }
        guard let inventory else { return nil }
        if request.kind == .portForward {
            // A pod's ports, not a container's: which ports may be reached is each tunnel's answer.
            if case .failure(let error) = inventory.pod(request.target) { return error }
            return nil
        }
        if case .failure(let error) = inventory.lookup(request.target) { return error }
        return nil
    }

    public func startSession(_ request: ExecRequest, on loop: EventLoop,
                             delegate: SessionEndpointDelegate) -> SessionEndpoint {
        if request.kind == .portForward { return startTunnel(request, on: loop, delegate: delegate) }
        return startProcessSession(request, on: loop, delegate: delegate)
    }

    /// `startSession` with the concrete type (pid, container) for callers that want it.
    public func startProcessSession(_ request: ExecRequest, on loop: EventLoop,
                                    delegate: SessionEndpointDelegate?) -> LocalProcessSession {
        var container: ContainerSpec?
        if let inventory {
            switch inventory.lookup(request.target) {
            case .success(let found):
                container = found
            case .failure(let error):
                return LocalProcessSession(failing: .failure(message: error.message, reason: error.reason, code: error.code),
                                           request: request, loop: loop, delegate: delegate, logger: logger,
                                           counter: counter)
            }
        }
        if request.kind == .attach {
            return LocalProcessSession(failing: .internalError("attach is not supported by the local backend"),
                                       request: request, loop: loop, delegate: delegate, logger: logger,
                                           counter: counter)
        }
        var sessionLogger = logger
        sessionLogger[metadataKey: "target"] = "\(request.target)"
        return LocalProcessSession(request: request, container: container, loop: loop, delegate: delegate,
                                   logger: sessionLogger, graceSeconds: graceSeconds, accounts: accounts,
                                   counter: counter)
    }
}

extension LocalBackend {
    /// New sessions run with the reloaded inventory; running ones keep the container spec they
    /// started with. `accounts`: its users, resolved off the loop.
    func follow(_ inventory: Inventory?, accounts: [String: Result<UserAccount, UserAccount.Unknown>]) {
        self.inventory = inventory
        self.accounts = accounts
    }
}
