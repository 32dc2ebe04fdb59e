import ArgumentParser
import Logging

/// What `execbridge serve` writes about itself.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-format"), help: ArgumentHelp("Log lines on standard error: text or json.", valueName: "format"))
    var logFormat: String = "text"

    @Option(name: .customLong("log-level"), help: ArgumentHelp(
        "trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String = "info"

    @Option(name: .customLong("trace-frames"), help: ArgumentHelp(
        "Write decoded frame records of every SPDY/HTTP/2 connection to this file.", valueName: "file"))
    var traceFrames: String?

    func validate() throws {
        guard ["text", "json"].contains(logFormat) else {
            throw ValidationError("--log-format must be text or json (got \(logFormat))")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical (got \(logLevel))")
        }
    }
}
