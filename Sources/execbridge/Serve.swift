import ArgumentParser
import ExecBridge

/// `execbridge serve`. Each group of options lives in its own file under Options/; a new option
/// is one property there (and one line in its `settings()` when it reaches the library).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway.",
        discussion: """
            Signals: SIGHUP reloads --inventory, --policy, --token-file, --tls-cert/--tls-key and --client-ca \
            (a file that does not parse keeps the previous configuration); SIGINT/SIGTERM drain: /readyz \
            answers 503 at once, new sessions are refused (503 with Retry-After) after --drain-delay, and \
            running sessions finish for --drain-timeout; health probes are answered until the exit.
            Exit status: 0 after a drain, 64 for a bad option or a file it names, 1 when the gateway cannot \
            start (an address in use or served by another process).
            """)

    @OptionGroup(title: "Listening")
    var listenOptions: ListenOptions

    @OptionGroup(title: "Backend")
    var backendOptions: BackendOptions

    @OptionGroup(title: "Sessions")
    var sessionOptions: SessionOptions

    @OptionGroup(title: "Limits")
    var limitOptions: LimitOptions

    @OptionGroup(title: "Recording")
    var recordingOptions: RecordingOptions

    @OptionGroup(title: "Security")
    var securityOptions: SecurityOptions

    @OptionGroup(title: "Metrics")
    var metricsOptions: MetricsOptions

    @OptionGroup(title: "Web terminal")
    var uiOptions: UIOptions

    @OptionGroup(title: "Logging")
    var loggingOptions: LoggingOptions

    func run() throws {
        SecretArguments.scrub()
        var options = ServeOptions(
            listen: listenOptions.addresses, threads: listenOptions.threads,
            backend: backendOptions.settings(), security: securityOptions.settings(),
            tlsCert: listenOptions.tlsCert, tlsKey: listenOptions.tlsKey,
            logFormat: loggingOptions.logFormat, logLevel: loggingOptions.logLevel,
            channelBudget: sessionOptions.channelBudget, streamCreationTimeout: sessionOptions.streamCreationTimeout,
            idleTimeout: sessionOptions.idleTimeout, headTimeout: sessionOptions.headTimeout,
            drainTimeout: sessionOptions.drainTimeout)
        options.drainDelay = sessionOptions.drainDelay
        options.traceFrames = loggingOptions.traceFrames
        options.limits = limitOptions.settings()
        options.recording = recordingOptions.settings()
        options.metricsListen = metricsOptions.metricsListen
        options.ui = uiOptions.settings()
        do {
            try ServeMain.run(options)
        } catch let failure as ServeMain.StartFailure {
            throw CommandLineFailure.runtime("\(failure)")
        } catch {
            throw CommandLineFailure.usage("\(error)", helpPage: "serve")
        }
    }
}
