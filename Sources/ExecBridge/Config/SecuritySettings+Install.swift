import Logging

extension SecuritySettings {
    /// Checks everything now (a bad file fails the start, not the first request) and adds
    /// identity, authorization and audit to every worker's pipeline.
    func install(into config: inout GatewayConfig) throws {
        if clientCA != nil, config.tls == nil {
            throw ConfigurationError("--client-ca needs --tls-cert and --tls-key: client certificates are a part of TLS")
        }
        var tokens: (table: TokenTable, signature: SecurityFiles.Signature?)?
        if let tokenFile {
            tokens = (try ConfigurationError.naming("--token-file") { try TokenTable.load(path: tokenFile) },
                      SecurityFiles.signature(tokenFile))
        }
        let policy = try ConfigurationError.naming("--policy") { try policyFile.map { try AccessPolicy.load(path: $0) } }
        // These two errors already name their option.
        _ = try AuditRedactor(patterns: auditRedact)
        let audit = try auditLog.map { try AuditLog.open($0) }
        let anonymous = try Self.anonymousAllowed(listen: config.listen, authenticators: tokenFile != nil || clientCA != nil,
                                                  allowAnonymous: allowAnonymous, logger: config.logger)
        let browsers = BrowserProvenance.Rules(origins: try BrowserProvenance.origins(allowOrigins),
                                               hosts: BrowserProvenance.hosts(allowHosts), anonymousAllowed: anonymous)
        config.pipelineExtensions.append(SecurityExtension(
            browsers: browsers, passthroughForwardAuthorization: passthroughForwardAuthorization,
            certificates: clientCA != nil, anonymousAllowed: anonymous, tokenFile: tokenFile, tokens: tokens?.table,
            tokenSignature: tokens?.signature, tokenReloadInterval: tokenReloadInterval, policy: policy,
            audit: audit, auditRedact: auditRedact))
        config.logger.info("access control", metadata: [
            "clientCertificates": "\(clientCA != nil)", "tokenFile": "\(tokenFile ?? "-")",
            "anonymous": "\(anonymous)", "policy": "\(policyFile ?? "-")", "audit": "\(auditLog ?? "-")"])
    }
}
