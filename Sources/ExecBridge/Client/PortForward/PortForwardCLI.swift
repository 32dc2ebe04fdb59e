import ExecModel
import Glibc
import Reactor

/// `execbridge port-forward`: listens on local ports and forwards each accepted connection as a
/// tunnel to the pod's port, like `kubectl port-forward`. The connection to the server comes
/// first (an unreachable server or a refused upgrade fails before anything listens, as kubectl
/// does), except for WebSocket v4, which opens one WebSocket per forwarded connection.
///
/// Exit status: 0 after SIGINT or SIGTERM; 1 when the server cannot be reached, refuses, or the
/// shared connection is lost ("lost connection to the server"); 64 for a usage error.
public enum PortForwardCLI {
    public static func run(_ options: PortForwardCLIOptions) -> Int32 {
        let resolved: PortForwardCLIOptions.Resolved
        do {
            resolved = try options.resolve()
        } catch ExecCLIError.usage(let message) {
            ExecCLI.writeAll(2, Array("Error: \(message)\n  See 'execbridge port-forward --help' for more information.\n".utf8))
            return ExecCLI.usageStatus
        } catch {
            return ExecCLI.fail(error)
        }
        Reactor.initializeOnce()
        signal(SIGPIPE, SIG_IGN)
        return PortForwardCLISession(resolved: resolved, options: options.connection).run()
    }
}

/// Opens tunnels for the listener, whatever the protocol.
protocol PortForwardOpener: AnyObject {
    func openTunnel(port: UInt16, delegate: SessionEndpointDelegate) -> SessionEndpoint
}

extension SPDYPortForwardClient: PortForwardOpener {
    func openTunnel(port: UInt16, delegate: SessionEndpointDelegate) -> SessionEndpoint {
        let tunnel: SPDYPortForwardTunnel = openTunnel(port: port, delegate: delegate)
        return tunnel
    }
}

extension HTTP2PortForwardClient: PortForwardOpener {
    func openTunnel(port: UInt16, delegate: SessionEndpointDelegate) -> SessionEndpoint {
        let tunnel: HTTP2PortForwardTunnel = openTunnel(port: port, delegate: delegate)
        return tunnel
    }
}

/// WebSocket v4: a connection of its own per tunnel, its path asking for the one port.
final class WebSocketPortForwardOpener: PortForwardOpener {
    private let options: ExecClientOptions
    private let loop: EventLoop
    private let address: SocketAddress
    private let tls: TLSContext?
    private let serverName: String

    init(options: ExecClientOptions, loop: EventLoop, address: SocketAddress, tls: TLSContext?, serverName: String) {
        self.options = options
        self.loop = loop
        self.address = address
        self.tls = tls
        self.serverName = serverName
    }

    func openTunnel(port: UInt16, delegate: SessionEndpointDelegate) -> SessionEndpoint {
        var options = self.options
        options.path = PortForwardPath.withPorts(options.path, [port])
        let client = WebSocketPortForwardClient(options: options, port: port, delegate: delegate)
        client.start(loop: loop, address: address, tls: tls, serverName: serverName)
        return client
    }
}
