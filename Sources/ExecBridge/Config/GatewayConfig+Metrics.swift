extension GatewayConfig {
    /// Serve `/metrics` on `listen` and count every session, refusal and connection.
    mutating func serveMetrics(on listen: String, security: SecuritySettings) throws {
        metrics = try MetricsConfig(listen: listen, security: security, logger: logger)
        pipelineExtensions.append(MetricsExtension())
    }
}
