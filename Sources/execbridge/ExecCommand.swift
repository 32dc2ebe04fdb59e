import ArgumentParser
import ExecBridge
import Glibc

/// `execbridge exec`: run a command through an exec endpoint, like `kubectl exec`.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a container through an exec URL (SPDY/3.1, HTTP/2 or WebSocket).",
        discussion: """
            URL is any exec path form, e.g. http://127.0.0.1:8080/api/v1/namespaces/default/pods/web/exec?container=app
            or .../exec/default/web/app; the command and the stream flags are added to its query.
            The exit status is the remote command's; errors print one line and exit 1.
            """)

    @Option(name: .customLong("protocol"), help: "spdy, h2 (prior knowledge, or ALPN h2 over https), h2c-upgrade, or ws.")
    var wireProtocol: String = "spdy"

    @Flag(name: [.customShort("i"), .customLong("stdin")], help: "Pass stdin to the command (half-closed at EOF).")
    var stdin = false

    @Flag(name: [.customShort("t"), .customLong("tty")], help: "Allocate a remote terminal; the local one goes raw.")
    var tty = false

    @Option(name: .long, help: "Bearer token (Authorization header).")
    var token: String?

    @Option(name: .long, help: "PEM client certificate (with --key).")
    var cert: String?

    @Option(name: .long, help: "PEM private key for --cert.")
    var key: String?

    @Option(name: .long, help: "PEM CA bundle to verify the server (default: the system's).")
    var ca: String?

    @Flag(name: .customLong("insecure-skip-tls-verify"), help: "Do not verify the server's certificate.")
    var insecureSkipTLSVerify = false

    @Option(name: .customLong("version-list"), help: "Channel versions to offer, preferred first (e.g. v4,v3).")
    var versionList: String?

    @Argument(help: "The exec URL.")
    var url: String

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func run() throws {
        let options: ExecCLIOptions
        do {
            options = try self.options()
        } catch {
            // One line and exit 1, like every other error of this command.
            printError(error)
            throw ExitCode(1)
        }
        throw ExitCode(ExecCLI.run(options))
    }

    private func printError(_ error: Error) {
        FileHandleStandardError.write("execbridge: \(error)\n")
    }

    func options() throws -> ExecCLIOptions {
        guard let wire = ExecCLIOptions.WireProtocol(rawValue: wireProtocol) else {
            throw ExecCLIError.usage("--protocol must be one of spdy, h2, h2c-upgrade, ws")
        }
        var options = ExecCLIOptions(url: url, command: command)
        options.wireProtocol = wire
        options.stdin = stdin
        options.tty = tty
        options.token = token
        options.certificate = cert
        options.key = key
        options.ca = ca
        options.insecureSkipTLSVerify = insecureSkipTLSVerify
        if let versionList {
            options.versions = try ExecCLIOptions.parseVersions(versionList)
        }
        return options
    }
}

enum FileHandleStandardError {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
