import Logging
import Reactor

/// What `execbridge serve` was given on the command line.
public struct ServeOptions: Sendable {
    public var listen: [String]
    public var threads: Int?
    public var backend: BackendSettings
    public var security: SecuritySettings
    public var tlsCert: String?
    public var tlsKey: String?
    public var logFormat: String
    public var logLevel: String
    public var channelBudget: Int
    public var streamCreationTimeout: Double
    public var idleTimeout: Double
    public var headTimeout: Double
    public var drainTimeout: Double
    /// `--drain-delay S`: not ready but still serving for S seconds after SIGINT/SIGTERM (0: none).
    public var drainDelay: Double = 0
    /// `--trace-frames FILE`: decoded frame records of every SPDY and HTTP/2 connection.
    public var traceFrames: String?
    /// `--max-sessions`, `--max-sessions-per-user`, `--max-connections`, `--stall-timeout`.
    public var limits = LimitSettings()
    /// `--metrics-listen HOST:PORT`: Prometheus `/metrics` (nil: off).
    public var metricsListen: String?
    /// `--record-dir`, `--record-max-bytes`, `--record-input` (nil: sessions are not recorded).
    public var recording: RecordingSettings?
    /// `--ui`: the web terminal at `/ui/` (nil: off).
    public var ui: UISettings?

    public init(listen: [String], threads: Int?, backend: BackendSettings, security: SecuritySettings, tlsCert: String?,
                tlsKey: String?, logFormat: String, logLevel: String, channelBudget: Int,
                streamCreationTimeout: Double, idleTimeout: Double, headTimeout: Double, drainTimeout: Double) {
        self.listen = listen
        self.threads = threads
        self.backend = backend
        self.security = security
        self.tlsCert = tlsCert
        self.tlsKey = tlsKey
        self.logFormat = logFormat
        self.logLevel = logLevel
        self.channelBudget = channelBudget
        self.streamCreationTimeout = streamCreationTimeout
        self.idleTimeout = idleTimeout
        self.headTimeout = headTimeout
        self.drainTimeout = drainTimeout
    }
}

/// `execbridge serve`: builds the configuration, starts the gateway, and returns after a
/// SIGINT/SIGTERM drain.
public enum ServeMain {
    /// The configuration was fine but the gateway could not start (an address in use): not a
    /// usage error, so the command line exits 1 without pointing at the help.
    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func run(_ options: ServeOptions) throws {
        let format = ConsoleLogHandler.Format(rawValue: options.logFormat) ?? .text
        let level = Logger.Level(rawValue: options.logLevel) ?? .info
        LoggingSystem.bootstrap { label in ConsoleLogHandler(label: label, format: format, level: level) }
        let logger = Logger(label: "execbridge")
        let config = try makeConfig(options, logger: logger)
        let gateway = Gateway(config: config)
        // Signals first: a SIGTERM right after the "listening" line (an orchestrator's quick stop)
        // drains instead of killing the process; it is handled once the loops run.
        gateway.stopOnSignals()
        do { try gateway.start() } catch { throw StartFailure(description: "\(error)") }
        gateway.wait()
        logger.info("stopped")
    }

    public static func makeConfig(_ options: ServeOptions, logger: Logger) throws -> GatewayConfig {
        if options.backend.tokenOnCommandLine { logger.warning("\(BackendSettings.commandLineTokenWarning)") }
        var config = GatewayConfig(logger: logger, makeBackend: { _ in LocalBackend(inventory: nil) })
        // The backend, and with a remote one the passthrough of requests that are not the gateway's own.
        try BackendFactory.install(options.backend, into: &config, logger: logger)
        // A malformed address is reported as such, before the security check calls it "not loopback".
        for text in options.listen {
            _ = try ConfigurationError.naming("--listen \(text)") { try SocketAddress(parsing: text) }
        }
        config.listen = options.listen
        if let threads = options.threads { config.threads = threads }
        if let cert = options.tlsCert, let key = options.tlsKey {
            // With --client-ca, the handshake asks for a client certificate (not required: callers
            // without one fall through to a bearer token or anonymous).
            config.tls = try ConfigurationError.naming("--tls-cert/--tls-key/--client-ca") {
                try TLSContext(certificate: cert, key: key, clientCA: options.security.clientCA)
            }
        }
        config.reloadFiles = options.reloadFiles
        config.headTimeout = options.headTimeout
        config.drainTimeout = options.drainTimeout
        config.drainDelay = options.drainDelay
        config.bridge.channelBudget = options.channelBudget
        config.bridge.streamCreationTimeout = options.streamCreationTimeout
        config.bridge.idleTimeout = options.idleTimeout
        try options.limits.validate()
        options.limits.install(into: &config)
        // Refuses unsafe configurations (no authentication on a non-loopback address) before any bind.
        try options.security.install(into: &config)
        if let listen = options.metricsListen {
            let certificate = options.tlsCert.flatMap { cert in options.tlsKey.map { (cert: cert, key: $0) } }
            try config.serveMetrics(on: listen, security: options.security, certificate: certificate)
        }
        config.serveDiscovery()
        if let path = options.traceFrames {
            try ConfigurationError.naming("--trace-frames") { try config.traceFrames(to: path) }
        }
        if let recording = try options.recording?.prepared().redacting(with: options.security.auditRedact) {
            config.bridge.tap = recording
            logger.info("recording sessions", metadata: ["dir": "\(recording.directory)"])
        }
        if var ui = options.ui {
            ui.recordDirectory = try options.recording?.prepared().directory
            try config.serveUI(ui)
        }
        return config
    }
}

extension ServeOptions {
    /// `--listen` syntax (HOST:PORT, [V6]:PORT, port 0…65535), checked while parsing the command
    /// line so that a typo is reported as such and not as an unsafe address.
    public static func checkListenAddress(_ text: String) throws {
        _ = try SocketAddress(parsing: text)
    }
}

extension ServeOptions {
    /// The files SIGHUP rereads.
    var reloadFiles: ReloadableFiles {
        var files = ReloadableFiles()
        files.inventory = backend.isLocal ? backend.inventory : nil
        files.policy = security.policyFile
        files.tokenFile = security.tokenFile
        files.tlsCert = tlsCert
        files.tlsKey = tlsKey
        files.clientCA = security.clientCA
        files.nodeAddresses = backend.nodeAddresses
        return files
    }
}
