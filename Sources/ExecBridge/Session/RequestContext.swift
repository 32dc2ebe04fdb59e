import Reactor

/// A request as the pipeline sees it, whatever generation carried it.
public struct RequestContext: Sendable {
    public var method: String
    /// Path and query, as received.
    public var target: String
    /// Header lines with lowercase names, in order (HTTP/2 pseudo-headers excluded).
    public var headers: [(name: String, value: String)]
    /// The host the request was addressed to: HTTP/2 `:authority`, else `Host`.
    public var authority: String?
    /// The connection is TLS: the request's own origin is https.
    public var isTLS: Bool
    public var peer: SocketAddress?
    /// The verified TLS client certificate's subject, if any.
    public var clientCertificate: ClientCertificate?
    /// The place this request holds in the session limits once admitted (shared by every copy).
    public private(set) var admission = AdmissionSlot()
    /// When the request head was read (`EventLoop.now()`): the start of its set-up time.
    public var received: Double

    public struct ClientCertificate: Sendable {
        public var commonName: String?
        public var organizations: [String]
    }

    /// A copy holding a place of its own: one port-forward connection admits each tunnel as a session.
    public func withNewAdmission() -> RequestContext {
        var copy = self
        copy.admission = AdmissionSlot()
        return copy
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// `headers` may include HTTP/2 pseudo-headers: `:authority` is kept as the authority, the
    /// others are dropped.
    init(method: String, target: String, headers: [(name: String, value: String)], connection: Connection) {
        self.method = method
        self.target = target
        // A byte test: String.hasPrefix compares by grapheme, and this runs for every header of every request.
        self.headers = headers.filter { $0.name.utf8.first != UInt8(ascii: ":") }
        self.authority = headers.first { $0.name == ":authority" }?.value ?? headers.first { $0.name == "host" }?.value
        self.received = EventLoop.now()
        self.isTLS = connection.isTLS
        self.peer = connection.peer
        self.clientCertificate = connection.peerCertificateSubject.map {
            ClientCertificate(commonName: $0.commonName, organizations: $0.organizations)
        }
    }
}
