import ArgumentParser
import ExecBridge

struct ExecBridgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execbridge",
        abstract: "A gateway for remote command execution in containers (SPDY/3.1, HTTP/2).",
        subcommands: [Serve.self, ExecCommand.self, Version.self],
        defaultSubcommand: Serve.self)
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("execbridge \(ExecBridgeVersion.string)")
    }
}
