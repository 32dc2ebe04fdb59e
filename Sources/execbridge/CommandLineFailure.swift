import ArgumentParser
import Glibc

/// An error found after ArgumentParser is done (a file an option names, an address in use), printed
/// the way ArgumentParser prints its own: the message, then the help page of the subcommand that
/// was run — not the top-level one ArgumentParser would name for an error thrown from `run()`.
///
/// Exit status of every subcommand: 64 (EX_USAGE) for a bad option or a file it names; 1 for a
/// failure of the command itself (cannot listen, cannot reach the exec server).
enum CommandLineFailure: Error {
    case usage(String, helpPage: String)
    case runtime(String)

    static let usageStatus: Int32 = 64

    /// Prints the message and returns the exit code.
    func report() -> ExitCode {
        switch self {
        case .usage(let message, let page):
            StandardError.write("Error: \(message)\n  See 'execbridge \(page) --help' for more information.\n")
            return ExitCode(Self.usageStatus)
        case .runtime(let message):
            StandardError.write("Error: \(message)\n")
            return ExitCode(1)
        }
    }
}

enum StandardError {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
