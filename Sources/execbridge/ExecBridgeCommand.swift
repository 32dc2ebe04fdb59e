import ArgumentParser
import ExecBridge

/// Bare `execbridge` prints this command's help: starting a gateway is never a side effect of a
/// forgotten subcommand.
struct ExecBridgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execbridge",
        abstract: "A gateway for remote command execution in containers (SPDY/3.1, HTTP/2, WebSocket).",
        version: "execbridge \(ExecBridgeVersion.string)",
        subcommands: [Serve.self, ExecCommand.self, AttachCommand.self, PortForwardCommand.self, Version.self])
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version (as --version does).")

    func run() {
        print("execbridge \(ExecBridgeVersion.string)")
    }
}
