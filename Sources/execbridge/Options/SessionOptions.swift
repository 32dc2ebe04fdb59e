import ArgumentParser

/// Buffers and timeouts of every session. Numbers are parsed `.unconditional`: ArgumentParser
/// would otherwise take `-5` for a flag and answer "Missing value" instead of the real problem.
struct SessionOptions: ParsableArguments {
    @Option(name: .customLong("channel-budget"), parsing: .unconditional, help: ArgumentHelp(
        "Bytes buffered per session direction before the producer is paused (at least 4096).", valueName: "bytes"))
    var channelBudget: Int = 256 * 1024

    @Option(name: .customLong("stream-creation-timeout"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds a client has to open its channel streams.", valueName: "seconds"))
    var streamCreationTimeout: Double = 30

    @Option(name: .customLong("idle-timeout"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds without traffic before a session is ended.", valueName: "seconds"))
    var idleTimeout: Double = 4 * 3600

    @Option(name: .customLong("head-timeout"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds for a request head to arrive (408 after).", valueName: "seconds"))
    var headTimeout: Double = 10

    @Option(name: .customLong("drain-timeout"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds sessions may finish after SIGINT/SIGTERM.", valueName: "seconds"))
    var drainTimeout: Double = 30

    @Option(name: .customLong("drain-delay"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds after SIGINT/SIGTERM during which /readyz answers 503 but sessions are still served, so a load balancer stops sending new ones before they are refused (0: none; the drain timeout starts after it).",
        valueName: "seconds"))
    var drainDelay: Double = 0

    func validate() throws {
        guard channelBudget >= 4096 else {
            throw ValidationError("--channel-budget must be a positive number of bytes, at least 4096 (got \(channelBudget))")
        }
        for (name, value) in [("--stream-creation-timeout", streamCreationTimeout), ("--idle-timeout", idleTimeout),
                              ("--head-timeout", headTimeout), ("--drain-timeout", drainTimeout)] {
            guard value > 0, value.isFinite else {
                throw ValidationError("\(name) must be a positive number of seconds (got \(value))")
            }
        }
        guard drainDelay >= 0, drainDelay.isFinite else {
            throw ValidationError("--drain-delay must be 0 or a positive number of seconds (got \(drainDelay))")
        }
    }
}
