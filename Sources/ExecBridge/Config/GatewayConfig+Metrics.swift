extension GatewayConfig {
    /// Serve `/metrics` on `listen` and count every session, refusal and connection.
    mutating func serveMetrics(on listen: String, security: SecuritySettings,
                               certificate: (cert: String, key: String)? = nil) throws {
        metrics = try MetricsConfig(listen: listen, security: security, certificate: certificate, logger: logger)
        pipelineExtensions.append(MetricsExtension())
    }
}
