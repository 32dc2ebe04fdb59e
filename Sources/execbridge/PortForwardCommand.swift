import ArgumentParser
import ExecBridge

/// `execbridge port-forward`: forward local ports to a pod's ports, like `kubectl port-forward`.
struct PortForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "port-forward",
        abstract: "Forward local ports to a pod's ports through a port-forward URL (SPDY/3.1, HTTP/2 or WebSocket).",
        discussion: """
            URL is any port-forward path form, e.g. http://127.0.0.1:8080/api/v1/namespaces/default/pods/web/portforward \
            or .../portForward/default/web. Each PORT is REMOTE, LOCAL:REMOTE, or :REMOTE (a free local port).
            Prints "Forwarding from ADDRESS:LOCAL -> REMOTE" per listener and "Handling connection for LOCAL" per \
            accepted connection; a tunnel's error goes to stderr and the listener keeps serving.
            Exit status: 0 after SIGINT or SIGTERM; 1 when the server cannot be reached, refuses the upgrade, or the \
            connection is lost; 64 for a bad option.
            """)

    @Option(name: .customLong("protocol"), help: ArgumentHelp(
        "spdy, h2 (prior knowledge, or ALPN h2 over https), h2c-upgrade, ws (v4.channel.k8s.io), or ws-tunnel (SPDY over WebSocket, kubectl 1.31+).",
        valueName: "protocol"))
    var wireProtocol: String = "spdy"

    @Option(name: .long, help: ArgumentHelp(
        "Addresses to listen on, comma-separated IPs or localhost (127.0.0.1 and ::1).", valueName: "addresses"))
    var address: [String] = ["127.0.0.1"]

    @OptionGroup var connection: ConnectionFlags

    @Argument(help: ArgumentHelp("The port-forward URL.", valueName: "url"))
    var url: String

    @Argument(help: ArgumentHelp("[LOCAL:]REMOTE port pairs.", valueName: "port"))
    var ports: [String] = []

    func run() throws {
        let options: PortForwardCLIOptions
        do {
            guard let wire = PortForwardCLIOptions.WireProtocol(rawValue: wireProtocol) else {
                throw ExecCLIError.usage("--protocol must be one of spdy, h2, h2c-upgrade, ws, ws-tunnel")
            }
            var built = PortForwardCLIOptions(url: url, ports: ports)
            built.wireProtocol = wire
            built.addresses = address
            connection.apply(to: &built.connection)
            options = built
        } catch {
            throw CommandLineFailure.usage("\(error)", helpPage: "port-forward")
        }
        throw ExitCode(PortForwardCLI.run(options))
    }
}
