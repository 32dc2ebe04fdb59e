import ArgumentParser
import ExecBridge

/// `execbridge attach`: join a container's main process through an attach URL, like `kubectl attach`.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Attach to a container's main process through an attach URL (SPDY/3.1, HTTP/2 or WebSocket).",
        discussion: """
            URL is any attach path form, e.g. http://127.0.0.1:8080/api/v1/namespaces/default/pods/web/attach?container=app
            or .../attach/default/web/app; the stream flags are added to its query. The process's recent output comes \
            first, then what it prints; leaving never stops it. With -i the end of stdin detaches (or, on a stdinOnce \
            container, closes the process's stdin).
            Exit status: the process's when it exits while attached; 0 when detached; 1 when the attach could not \
            start (the line says why); 64 for a bad option.
            """)

    @OptionGroup var channels: ChannelFlags

    @Flag(name: [.customShort("i"), .customLong("stdin")], help: "Pass stdin to the process.")
    var stdin = false

    @Flag(name: [.customShort("t"), .customLong("tty")], help: "The process has a terminal; the local one goes raw.")
    var tty = false

    @OptionGroup var connection: ConnectionFlags

    @Argument(help: ArgumentHelp("The attach URL.", valueName: "url"))
    var url: String

    func run() throws {
        let options: ExecCLIOptions
        do {
            options = try self.options()
        } catch {
            throw CommandLineFailure.usage("\(error)", helpPage: "attach")
        }
        throw ExitCode(ExecCLI.run(options))
    }

    func options() throws -> ExecCLIOptions {
        var options = ExecCLIOptions(url: url, command: [])
        options.attach = true
        try channels.apply(to: &options)
        options.stdin = stdin
        options.tty = tty
        connection.apply(to: &options)
        return options
    }
}
