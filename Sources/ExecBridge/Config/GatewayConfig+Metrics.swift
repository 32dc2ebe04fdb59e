extension GatewayConfig {
    /// Serve `/metrics` on `listen` and count every session, refusal, connection and reload.
    mutating func serveMetrics(on listen: String, security: SecuritySettings,
                               certificate: (cert: String, key: String)? = nil) throws {
        metrics = try MetricsConfig(listen: listen, security: security, certificate: certificate, logger: logger)
        pipelineExtensions.append(MetricsExtension())
        reloadObserver = MetricsReloadObserver()
    }
}

/// SIGHUP reloads, counted in `execbridge_config_reloads_total` and `execbridge_config_reload_failing`.
struct MetricsReloadObserver: ConfigReloadObserver {
    func configReloaded(ok: Bool) {
        GatewayMetrics.configReloaded(ok: ok)
    }
}
