import ExecModel
import Logging
import Reactor

/// `--metrics-listen HOST:PORT`, checked as exec's listen addresses are: a loopback address
/// serves anyone on the machine; any other needs an authenticator (`--token-file`,
/// `--client-ca`) and a scrape that presents its credential, or `--allow-anonymous` (warned).
struct MetricsConfig: Sendable {
    var listen: String
    /// Scrapes need no credential.
    var anonymous: Bool
    /// With `--tls-cert`: the same certificate, offering only http/1.1 by ALPN (the listener
    /// speaks HTTP/1.1 alone; a client offered h2 would speak it).
    var tls: TLSContext?
    /// `--allow-host`: names besides loopback ones an anonymous scrape may use in `Host`.
    var allowHosts: Set<String> = []

    init(listen: String, security: SecuritySettings, certificate: (cert: String, key: String)?, logger: Logger) throws {
        if let certificate {
            tls = try TLSContext(certificate: certificate.cert, key: certificate.key, clientCA: security.clientCA,
                                 alpn: ["http/1.1"])
        }
        guard (try? SocketAddress(parsing: listen)) != nil else {
            throw ConfigurationError("--metrics-listen \(listen): not a HOST:PORT address (e.g. 127.0.0.1:9100)")
        }
        self.listen = listen
        allowHosts = BrowserProvenance.hosts(security.allowHosts)
        let loopback = SecuritySettings.isLoopback(listen)
        if loopback {
            anonymous = true
        } else if security.allowAnonymous {
            logger.warning("--allow-anonymous: anyone who can reach --metrics-listen may read the metrics",
                           metadata: ["address": "\(listen)"])
            anonymous = true
        } else if security.tokenFile != nil || security.clientCA != nil {
            anonymous = false
        } else {
            throw ConfigurationError(
                "refusing --metrics-listen \(listen) without authentication: that is not a loopback address, so anyone "
                + "who can reach it could read the metrics. Give --token-file FILE or --client-ca FILE (with "
                + "--tls-cert/--tls-key) so that scrapes must present a bearer token or certificate, "
                + "or use --metrics-listen 127.0.0.1:PORT")
        }
    }
}

extension MetricsServer {
    /// What a scrape must show: on an anonymous listener, only that a browser did not send it for a
    /// page (a DNS-rebinding page could otherwise read the metrics through the operator's browser:
    /// the same rules as exec's, so the `Host` must be a loopback name or `--allow-host`);
    /// otherwise an identity from the pipeline's authenticator (a verified client certificate or a
    /// known bearer token).
    static func authorizer(_ config: MetricsConfig, pipeline: RequestPipeline) -> (RequestContext) -> RequestError? {
        if config.anonymous {
            let browsers = BrowserProvenance(rules: .init(hosts: config.allowHosts, anonymousAllowed: true))
            return { context in browsers.screen(context) }
        }
        return { [pipeline] context in
            switch pipeline.identify(context, screened: false) {
            case .failure(let error):
                return error
            case .success(let identity):
                guard let identity, identity.user != Identity.anonymous.user else {
                    return RequestError(code: 401, reason: "Unauthorized", message: "Unauthorized",
                                        headers: [.init("WWW-Authenticate", "Bearer")])
                }
                return nil
            }
        }
    }
}
