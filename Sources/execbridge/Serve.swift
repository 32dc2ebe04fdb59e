import ArgumentParser
import ExecBridge
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @Option(name: .long, help: "Address to listen on, HOST:PORT (repeatable).")
    var listen: [String] = []

    @Option(name: .long, help: "Event loop threads (default: number of cores).")
    var threads: Int?

    @OptionGroup(title: "Backend")
    var backendOptions: BackendOptions

    @OptionGroup(title: "Security")
    var securityOptions: SecurityOptions

    @OptionGroup(title: "Limits")
    var limitOptions: LimitOptions

    @OptionGroup(title: "Recording")
    var recordingOptions: RecordingOptions

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve TLS (ALPN h2, http/1.1).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("log-format"), help: "text or json.")
    var logFormat: String = "text"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("channel-budget"), help: "Bytes buffered per session direction before the producer is paused.")
    var channelBudget: Int = 256 * 1024

    @Option(name: .customLong("stream-creation-timeout"), help: "Seconds a client has to open its channel streams.")
    var streamCreationTimeout: Double = 30

    @Option(name: .customLong("idle-timeout"), help: "Seconds without traffic before a session is ended.")
    var idleTimeout: Double = 4 * 3600

    @Option(name: .customLong("head-timeout"), help: "Seconds for a request head to arrive (408 after).")
    var headTimeout: Double = 10

    @Option(name: .customLong("trace-frames"), help: "Write decoded frame records of every SPDY/HTTP/2 connection to this file.")
    var traceFrames: String?

    @Option(name: .customLong("metrics-listen"),
            help: "Serve Prometheus /metrics on HOST:PORT (off by default; a non-loopback address needs --token-file or --client-ca).")
    var metricsListen: String?

    @Option(name: .customLong("drain-timeout"), help: "Seconds sessions may finish after SIGINT/SIGTERM.")
    var drainTimeout: Double = 30

    func validate() throws {
        guard ["text", "json"].contains(logFormat) else {
            throw ValidationError("--log-format must be text or json")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be 1…256") }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard channelBudget >= 4096 else { throw ValidationError("--channel-budget must be at least 4096") }
    }

    func run() throws {
        SecretArguments.scrub()
        var options = ServeOptions(
            listen: listen.isEmpty ? ["127.0.0.1:8080"] : listen, threads: threads,
            backend: backendOptions.settings(), security: securityOptions.settings(), tlsCert: tlsCert, tlsKey: tlsKey, logFormat: logFormat, logLevel: logLevel,
            channelBudget: channelBudget, streamCreationTimeout: streamCreationTimeout, idleTimeout: idleTimeout,
            headTimeout: headTimeout, drainTimeout: drainTimeout)
        options.traceFrames = traceFrames
        options.metricsListen = metricsListen
        options.limits = limitOptions.settings()
        options.recording = recordingOptions.settings()
        do {
            try ServeMain.run(options)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
