import ArgumentParser
import ExecBridge

/// `execbridge exec`: run a command through an exec endpoint, like `kubectl exec`.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a container through an exec URL (SPDY/3.1, HTTP/2 or WebSocket).",
        discussion: """
            URL is any exec path form, e.g. http://127.0.0.1:8080/api/v1/namespaces/default/pods/web/exec?container=app
            or .../exec/default/web/app; the command and the stream flags are added to its query.
            Exit status: the remote command's; 1 when the command could not run (connection refused or timed out, \
            TLS verification failed, not an exec server, upgrade refused — the line says which); 64 for a bad option.
            """)

    @OptionGroup var channels: ChannelFlags

    @Flag(name: [.customShort("i"), .customLong("stdin")], help: "Pass stdin to the command (half-closed at EOF).")
    var stdin = false

    @Flag(name: [.customShort("t"), .customLong("tty")], help: "Allocate a remote terminal; the local one goes raw.")
    var tty = false

    @OptionGroup var connection: ConnectionFlags

    @Argument(help: ArgumentHelp("The exec URL.", valueName: "url"))
    var url: String

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func run() throws {
        let options: ExecCLIOptions
        do {
            options = try self.options()
        } catch {
            // A bad option is a usage error, as for serve: exit 64 and point at this page.
            throw CommandLineFailure.usage("\(error)", helpPage: "exec")
        }
        throw ExitCode(ExecCLI.run(options))
    }

    func options() throws -> ExecCLIOptions {
        var options = ExecCLIOptions(url: url, command: command)
        try channels.apply(to: &options)
        options.stdin = stdin
        options.tty = tty
        connection.apply(to: &options)
        return options
    }
}
