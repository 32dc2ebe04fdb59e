import ExecModel
import Glibc
import Reactor

/// The running `execbridge port-forward`: one private loop with the server connection, the
/// listeners and every forwarded connection.
final class PortForwardCLISession {
    private let resolved: PortForwardCLIOptions.Resolved
    private let options: ExecCLIOptions
    private let loop = EventLoop()
    private var opener: PortForwardOpener?
    private var listeners: [Listener] = []
    private var locals: [ObjectIdentifier: PortForwardLocalConnection] = [:]
    private var signals: [SignalWatch] = []
    private var exitCode: Int32?
    private var closeOpener: () -> Void = {}

    init(resolved: PortForwardCLIOptions.Resolved, options: ExecCLIOptions) {
        self.resolved = resolved
        self.options = options
    }

    func run() -> Int32 {
        let address: SocketAddress
        let tls: TLSContext?
        do {
            address = try SocketAddress(host: resolved.host, port: resolved.port)
            tls = try options.clientTLS(secure: resolved.secure, h2: resolved.wireProtocol == .h2)
        } catch let error as ExecCLIError {
            return ExecCLI.fail(error)
        } catch {
            return ExecCLI.fail(ExecCLIError.failed("cannot resolve \(resolved.host): \(error)"))
        }
        for number in [SIGINT, SIGTERM] {
            signals.append(SignalWatch(loop: loop, signal: number) { [unowned self] _ in self.finish(0) })
        }
        var started: ExecStatus?? = nil
        switch resolved.wireProtocol {
        case .spdy, .wsTunnel:
            let client = SPDYPortForwardClient(options: resolved.client,
                                               transport: resolved.wireProtocol == .spdy ? .upgrade : .webSocketTunnel)
            client.onStart = { started = .some($0) }
            client.onLost = { [unowned self] in self.lost($0) }
            client.start(loop: loop, address: address, tls: tls, serverName: resolved.host)
            opener = client
            closeOpener = { client.close() }
        case .h2, .h2cUpgrade:
            let transport: HTTP2ExecClient.Transport = resolved.wireProtocol == .h2cUpgrade ? .upgrade
                : resolved.secure ? .tls : .priorKnowledge
            let client = HTTP2PortForwardClient(options: resolved.client, transport: transport)
            client.onStart = { started = .some($0) }
            client.onLost = { [unowned self] in self.lost($0) }
            client.start(loop: loop, address: address, tls: tls, serverName: resolved.host, timeout: options.connectTimeout)
            opener = client
            closeOpener = { client.close() }
        case .ws:
            opener = WebSocketPortForwardOpener(options: resolved.client, loop: loop, address: address, tls: tls,
                                                serverName: resolved.host)
            started = .some(nil)
        }
        let deadline = EventLoop.now() + options.connectTimeout
        let timer = LoopTimer(loop: loop, after: options.connectTimeout) {}
        while started == nil, exitCode == nil, EventLoop.now() < deadline { loop.runOnce() }
        timer.cancel()
        if exitCode == nil {
            switch started {
            case .some(.some(let failure)):
                return ExecCLI.fail(ExecCLIError.failed("error upgrading connection: " + ExecCLISession.describe(failure)))
            case .none:
                return ExecCLI.fail(ExecCLIError.failed("\(resolved.client.authority): no answer within \(options.connectTimeout) s (--connect-timeout)"))
            case .some(.none):
                if let failure = listen() { return ExecCLI.fail(failure) }
            }
        }
        while exitCode == nil { loop.runOnce() }
        for listener in listeners { listener.close() }
        for local in Array(locals.values) { local.abort() }
        closeOpener()
        signals.forEach { $0.cancel() }
        // The last frames (GOAWAY, close frames) leave before the process exits.
        let linger = EventLoop.now() + 0.05
        while EventLoop.now() < linger { loop.runOnce(block: false) }
        return exitCode ?? 1
    }

    /// Binds every address for every pair (`:R` takes the first address's free port for all), and
    /// says so as kubectl does. Nil when all are listening.
    private func listen() -> ExecCLIError? {
        for pair in resolved.pairs {
            var local = pair.local
            for host in resolved.listenHosts {
                let listener: Listener
                do {
                    let address = try SocketAddress(host: host, port: local)
                    listener = try Listener(loop: loop, address: address) { [unowned self] fd, _ in
                        self.accepted(fd, pair: PortForwardCLIOptions.PortPair(local: local, remote: pair.remote))
                    }
                } catch {
                    if host == "::1", resolved.listenHosts.contains("127.0.0.1") { continue } // no IPv6 here: as kubectl
                    return .failed("unable to listen on \(host):\(local): \(error)")
                }
                local = listener.address.port
                listeners.append(listener)
                let shown = host.contains(":") ? "[\(host)]" : host
                ExecCLI.writeAll(1, Array("Forwarding from \(shown):\(local) -> \(pair.remote)\n".utf8))
            }
        }
        return nil
    }

    private func accepted(_ fd: Int32, pair: PortForwardCLIOptions.PortPair) {
        guard exitCode == nil, let opener else {
            Glibc.close(fd)
            return
        }
        // kubectl names the local port here.
        ExecCLI.writeAll(1, Array("Handling connection for \(pair.local)\n".utf8))
        let local = PortForwardLocalConnection(fd: fd, loop: loop, pair: pair)
        locals[ObjectIdentifier(local)] = local
        local.onClose = { [unowned self] in self.locals[ObjectIdentifier($0)] = nil }
        local.onError = { local, message in
            // kubectl's wording; the listener keeps serving.
            ExecCLI.writeAll(2, Array("execbridge: an error occurred forwarding \(local.pair.local) -> \(local.pair.remote): \(message)\n".utf8))
        }
        local.start(opener.openTunnel(port: pair.remote, delegate: local))
    }

    private func lost(_ status: ExecStatus) {
        guard exitCode == nil else { return }
        ExecCLI.fail(ExecCLIError.failed("lost connection to the server: " + ExecCLISession.describe(status)))
        finish(1)
    }

    private func finish(_ code: Int32) {
        if exitCode == nil { exitCode = code }
    }
}
