import ExecModel
import Logging

/// Who is asking, in Kubernetes' order: a verified TLS client certificate (user = CN, groups = O),
/// then a bearer token from `--token-file`, then anonymous. Every authenticated identity also
/// gets the group `system:authenticated`, as Kubernetes adds it.
final class Authenticator: AdmissionStep, RequestAuthenticator {
    struct Options {
        /// `--client-ca` is set: verified client certificates are identities.
        var certificates: Bool
        /// Anonymous callers may go on (to authorization); otherwise they get 401.
        var anonymousAllowed: Bool
    }

    static let authenticatedGroup = "system:authenticated"

    private let options: Options
    private let tokens: TokenFileWatcher?
    private let logger: Logger

    init(options: Options, tokens: TokenFileWatcher?, logger: Logger) {
        self.options = options
        self.tokens = tokens
        self.logger = logger
    }

    func admit(_ request: inout ExecRequest, context: RequestContext) -> RequestError? {
        switch identify(context) {
        case .success(let identity):
            request.identity = identity
            return nil
        case .failure(let error):
            request.identity = .anonymous
            return error
        }
    }

    func identify(_ context: RequestContext) -> Result<Identity, RequestError> {
        // An unverified or expired certificate reaches here as nil (Connection reports only verified
        // subjects): no identity from it, the request goes on to the token or anonymous.
        if options.certificates, let certificate = context.clientCertificate,
           let name = certificate.commonName, !name.isEmpty {
            return .success(Self.authenticated(Identity(user: name, groups: certificate.organizations)))
        }
        if let tokens, let token = BearerToken.presented(in: context) {
            guard let identity = tokens.current.identity(for: token) else {
                // The token itself is never logged nor echoed.
                logger.info("rejected an unknown bearer token", metadata: ["peer": "\(context.peer.map { "\($0)" } ?? "-")"])
                return .failure(Self.unauthorized(bearer: true))
            }
            return .success(Self.authenticated(identity))
        }
        guard options.anonymousAllowed else { return .failure(Self.unauthorized(bearer: tokens != nil)) }
        return .success(.anonymous)
    }

    static func authenticated(_ identity: Identity) -> Identity {
        var identity = identity
        var seen = Set<String>()
        identity.groups = identity.groups.filter { seen.insert($0).inserted }
        if !seen.contains(authenticatedGroup) { identity.groups.append(authenticatedGroup) }
        return identity
    }

    /// kube-apiserver's answer to a failed authentication, with the challenge of RFC 6750.
    static func unauthorized(bearer: Bool) -> RequestError {
        RequestError(code: 401, reason: "Unauthorized", message: "Unauthorized",
                     headers: bearer ? [RequestError.HeaderLine("WWW-Authenticate", "Bearer")] : [])
    }
}

extension Authenticator {
    /// A reloaded token file, at once (not at the watcher's next look).
    func follow(_ table: TokenTable, signature: SecurityFiles.Signature?) {
        tokens?.replace(table, signature: signature)
    }
}
