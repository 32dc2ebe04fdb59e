import Logging
import Reactor

/// `--backend`: which backend each loop gets, and what a remote backend adds to the front door.
enum BackendFactory {
    /// The per-loop backend. (`install` also adds the passthrough; prefer it.)
    static func make(_ settings: BackendSettings, logger: Logger) throws -> @Sendable (EventLoop) -> Backend {
        if settings.isLocal { return try local(settings, logger: logger) }
        return remote(try upstream(settings, logger: logger), logger: logger)
    }

    /// Everything `--backend` configures: the per-loop backend and, for a remote backend, the
    /// side-by-side passthrough (`--passthrough`, on by default there).
    static func install(_ settings: BackendSettings, into config: inout GatewayConfig, logger: Logger) throws {
        if settings.isLocal {
            config.makeBackend = try local(settings, logger: logger)
            return
        }
        let upstream = try upstream(settings, logger: logger)
        config.makeBackend = remote(upstream, logger: logger)
        if upstream.passthrough {
            config.pipelineExtensions.append(PassthroughExtension(upstream: upstream, logger: logger))
        }
    }

    private static func local(_ settings: BackendSettings, logger: Logger) throws -> @Sendable (EventLoop) -> Backend {
        if settings.passthrough == true {
            throw ConfigurationError("--passthrough needs a remote --backend (there is nothing to pass requests to)")
        }
        let inventory = try ConfigurationError.naming("--inventory") { try settings.inventory.map { try Inventory.load(path: $0) } }
        // One hub for the whole gateway: the main processes live on the first loop that adopts it.
        let mainProcesses = MainProcessHub(inventory: inventory, logger: logger)
        return { loop in
            mainProcesses.adopt(loop)
            return LocalBackend(inventory: inventory, logger: logger, mainProcesses: mainProcesses)
        }
    }

    private static func upstream(_ settings: BackendSettings, logger: Logger) throws -> UpstreamConfig {
        if settings.inventory != nil {
            throw ConfigurationError("--inventory is for the local backend; the upstream \(settings.backend) decides what exists")
        }
        // Each scheme's client is chosen in UpstreamScheme.makeClient; unsupported ones are refused
        // by UpstreamConfig (ws://, wss:// until the WebSocket client exists).
        return try UpstreamConfig(settings, logger: logger)
    }

    private static func remote(_ upstream: UpstreamConfig, logger: Logger) -> @Sendable (EventLoop) -> Backend {
        { loop in UpstreamBackend(config: upstream, logger: logger, loop: loop) }
    }
}
