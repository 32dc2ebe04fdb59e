import ArgumentParser
import ExecBridge

/// Prometheus metrics of `execbridge serve`.
struct MetricsOptions: ParsableArguments {
    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp(
        "Serve Prometheus GET /metrics (and nothing else) on this address; a non-loopback one needs --token-file or "
        + "--client-ca, and a token or certificate on every scrape. (default: off)", valueName: "host:port"))
    var metricsListen: String?
}
