import ArgumentParser
import ExecBridge

/// The connection flags of the client subcommands (`exec`, `attach`, `port-forward`): one
/// declaration, so they keep the same names, meaning and help.
struct ConnectionFlags: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Bearer token (Authorization header).", valueName: "token"))
    var token: String?

    @Option(name: .long, help: ArgumentHelp("PEM client certificate (with --key).", valueName: "file"))
    var cert: String?

    @Option(name: .long, help: ArgumentHelp("PEM private key for --cert.", valueName: "file"))
    var key: String?

    @Option(name: .long, help: ArgumentHelp("PEM CA bundle to verify the server (default: the system's).", valueName: "file"))
    var ca: String?

    @Flag(name: .customLong("insecure-skip-tls-verify"), help: "Do not verify the server's certificate.")
    var insecureSkipTLSVerify = false

    @Option(name: .customLong("connect-timeout"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds to connect and start (upgrade answered; for exec, every channel stream open).", valueName: "seconds"))
    var connectTimeout: Double = 30

    func apply(to options: inout ExecCLIOptions) {
        options.token = token
        options.certificate = cert
        options.key = key
        options.ca = ca
        options.insecureSkipTLSVerify = insecureSkipTLSVerify
        options.connectTimeout = connectTimeout
    }
}
