import ExecModel
import Glibc
import Reactor

/// The running `execbridge exec`: a client endpoint on a private loop, stdin read as it becomes
/// readable (or, for files, as the client takes it), output written through, signals watched.
final class ExecCLISession: SessionEndpointDelegate {
    /// Bytes of stdin the client may hold before reading pauses.
    static let stdinBudget = 256 * 1024

    private let resolved: ExecCLIOptions.Resolved
    private let options: ExecCLIOptions
    private let loop = EventLoop()
    private var client: SessionEndpoint?
    private var exitCode: Int32?
    private var terminal: TerminalMode?
    private var stdinEvent: FileEvent?
    /// For stdin that epoll cannot watch (regular files, /dev/null): read on a short timer.
    private var stdinTimer: LoopTimer?
    private var stdinOpen = false
    private var stdinPaused = false
    private var signals: [SignalWatch] = []
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(resolved: ExecCLIOptions.Resolved, options: ExecCLIOptions) {
        self.resolved = resolved
        self.options = options
    }

    func run() -> Int32 {
        let address: SocketAddress
        do {
            address = try SocketAddress(host: resolved.host, port: resolved.port)
        } catch {
            return ExecCLI.fail(ExecCLIError.failed("cannot resolve \(resolved.host): \(error)"))
        }
        let tls: TLSContext?
        do {
            tls = try options.clientTLS(secure: resolved.secure, h2: resolved.wireProtocol == .h2)
        } catch {
            return ExecCLI.fail(error)
        }
        if resolved.client.tty {
            guard TerminalMode.isTerminal(0) else {
                // As kubectl: go on without a local raw terminal (the remote still gets a pty).
                ExecCLI.writeAll(2, Array("execbridge: -t: standard input is not a terminal; not switching it to raw mode\n".utf8))
                return start(address: address, tls: tls)
            }
            do {
                terminal = try TerminalMode(rawOn: 0)
            } catch {
                return ExecCLI.fail(error)
            }
        }
        defer { terminal?.restore() }
        return start(address: address, tls: tls)
    }

    private func start(address: SocketAddress, tls: TLSContext?) -> Int32 {
        let serverName = resolved.host
        target = (address, tls)
        switch resolved.wireProtocol {
        case .spdy:
            let c = SPDYExecClient(options: resolved.client, delegate: self)
            client = c
            c.start(loop: loop, address: address, tls: tls, serverName: serverName)
        case .h2, .h2cUpgrade:
            let transport: HTTP2ExecClient.Transport = resolved.wireProtocol == .h2cUpgrade ? .upgrade
                : resolved.secure ? .tls : .priorKnowledge
            let c = HTTP2ExecClient(options: resolved.client, transport: transport, delegate: self)
            client = c
            c.start(loop: loop, address: address, tls: tls, serverName: serverName)
        case .ws:
            guard let c = ExecCLI.makeWebSocketClient(options: resolved.client, secure: resolved.secure, delegate: self) else {
                return ExecCLI.fail(ExecCLIError.usage("--protocol ws: the WebSocket client is not part of this build"))
            }
            client = c.endpoint
            isReady = c.isReady
            c.start(loop, address, tls, serverName)
        }
        watchSignals()
        // Input waits until every channel stream exists, and is then given from a timer, not from
        // inside the client's protocol callbacks (the HTTP/2 client cannot flush from there).
        readiness = LoopTimer(loop: loop, after: 0.005, repeats: true) { [unowned self] in self.checkReady() }
        startDeadline = LoopTimer(loop: loop, after: options.connectTimeout) { [unowned self] in self.startTimedOut() }
        while exitCode == nil {
            loop.runOnce()
        }
        startDeadline?.cancel()
        if timedOut {
            let seconds = "\(options.connectTimeout)".replacing(".0", with: "")
            ExecCLI.fail(ExecCLIError.failed(diagnosed("no session within \(seconds) s (--connect-timeout)", afterTimeout: true)))
        } else {
            reportLost()
        }
        readiness?.cancel()
        stdinEvent?.invalidate()
        stdinTimer?.cancel()
        signals.forEach { $0.cancel() }
        // Let the client's last frames (GOAWAY, FIN) leave before the process exits.
        let linger = EventLoop.now() + 0.05
        while EventLoop.now() < linger { loop.runOnce(block: false) }
        return exitCode ?? 1
    }

    /// Where the client connected, for `diagnosed` when the session fails before it starts.
    private var target: (address: SocketAddress, tls: TLSContext?)?
    /// Every channel stream was set up (or output arrived): failures after this are the session's.
    private var started = false
    private var readiness: LoopTimer?
    private var startDeadline: LoopTimer?
    private var timedOut = false
    private var isReady: (() -> Bool)?

    private func checkReady() {
        let ready: Bool
        if let c = client as? SPDYExecClient { ready = c.isReady } else if let c = client as? HTTP2ExecClient {
            ready = c.isReady
        } else {
            ready = isReady?() ?? true
        }
        guard ready, exitCode == nil else { return }
        started = true
        readiness?.cancel()
        readiness = nil
        if resolved.client.tty, let size = TerminalMode.size(of: 0) ?? TerminalMode.size(of: 1) {
            client?.receive(.resize(size))
        }
        if resolved.client.stdin { startStdin() }
    }

    // MARK: Signals

    private func watchSignals() {
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signals.append(SignalWatch(loop: loop, signal: number) { [unowned self] signal in self.interrupted(signal) })
        }
        if resolved.client.tty {
            signals.append(SignalWatch(loop: loop, signal: SIGWINCH) { [unowned self] _ in
                if let size = TerminalMode.size(of: 0) ?? TerminalMode.size(of: 1) { self.client?.receive(.resize(size)) }
            })
        }
    }

    private func interrupted(_ signal: Int32) {
        terminal?.restore()
        abortClient()
        finish(128 + signal)
    }

    private func abortClient() {
        if let c = client as? SPDYExecClient { c.abort() } else if let c = client as? HTTP2ExecClient { c.abort() } else {
            client?.terminate(.clientGone)
        }
    }

    /// The session has not started within `--connect-timeout`: give up (the message is written
    /// after the loop, with the probe's diagnosis).
    private func startTimedOut() {
        guard !started, exitCode == nil else { return }
        timedOut = true
        abortClient()
        finish(1)
    }

    private func finish(_ code: Int32) {
        if exitCode == nil { exitCode = code }
    }

    // MARK: stdin

    private func startStdin() {
        stdinOpen = true
        var info = stat()
        let pollable = fstat(0, &info) == 0 && ((info.st_mode & S_IFMT) == S_IFIFO || (info.st_mode & S_IFMT) == S_IFSOCK
                                                 || isatty(0) == 1)
        if pollable {
            stdinEvent = FileEvent(loop: loop, fd: 0, kind: .read) { [unowned self] in self.readStdin() }
            stdinEvent?.enable()
        } else {
            stdinTimer = LoopTimer(loop: loop, after: 0.001, repeats: true) { [unowned self] in self.readStdin() }
        }
    }

    private func readStdin() {
        guard stdinOpen, let client else { return }
        if client.pendingBytes > Self.stdinBudget {
            pauseStdin(true)
            return
        }
        let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n > 0 {
            buffer.withUnsafeBytes { client.receive(.data(.stdin, UnsafeRawBufferPointer(rebasing: $0[0..<n]))) }
        } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
            // EOF (or an unreadable stdin): the remote sees end of input.
            stdinOpen = false
            stdinEvent?.disable()
            stdinTimer?.cancel()
            client.receive(.halfClose(.stdin))
        }
    }

    private func pauseStdin(_ paused: Bool) {
        guard stdinOpen, paused != stdinPaused else { return }
        stdinPaused = paused
        if paused {
            stdinEvent?.disable()
            stdinTimer?.cancel()
        } else if stdinEvent != nil {
            stdinEvent?.enable()
        } else {
            stdinTimer = LoopTimer(loop: loop, after: 0.001, repeats: true) { [unowned self] in self.readStdin() }
        }
    }

    // MARK: SessionEndpointDelegate

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        switch event {
        case .data(.stdout, let bytes):
            started = true
            if !ExecCLI.writeAll(1, bytes) { outputGone() }
        case .data(.stderr, let bytes):
            started = true
            if !ExecCLI.writeAll(2, bytes) { outputGone() }
        case .exit(let status):
            ended(with: status)
        default:
            break
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {
        if stdinPaused, endpoint.pendingBytes <= Self.stdinBudget / 4 { pauseStdin(false) }
    }

    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        terminal?.restore()
        // The client records why only after this call returns: the message is written after the loop.
        lostReason = reason
        finish(1)
    }

    private var lostReason: EndReason?

    private func reportLost() {
        guard let reason = lostReason else { return }
        let failure = (client as? SPDYExecClient)?.lastFailure ?? (client as? HTTP2ExecClient)?.lastFailure
        let message = failure.map(Self.describe) ?? "connection lost (\(reason.rawValue))"
        ExecCLI.fail(ExecCLIError.failed(diagnosed(message)))
    }

    /// The reader of our stdout went away (`| head`): end the session, as a killed kubectl would.
    private func outputGone() {
        abortClient()
        finish(141)
    }

    private func ended(with status: ExecStatus) {
        terminal?.restore()
        if let code = status.exitCode {
            finish(Int32(code))
            return
        }
        if case .failure(let message, let reason, let code) = status, refusedUpgrade {
            if ConnectFailure.isStatusMessage(message) {
                finish(ExecCLI.fail(ExecCLIError.refused(status: code, reason: reason, message: message)))
            } else {
                finish(ExecCLI.fail(ExecCLIError.failed(ConnectFailure.notExecServer(resolved.client.authority, status: code))))
            }
            return
        }
        finish(ExecCLI.fail(ExecCLIError.failed(diagnosed(Self.describe(status)))))
    }

    /// A failure before the session started, explained: the clients see only that the connection
    /// closed (each in its own words), so a probe of the same address with the same TLS settings
    /// names the cause — the same way for every protocol. A failure after the start is the
    /// session's own and is reported as the client saw it.
    private func diagnosed(_ clientDetail: String, afterTimeout: Bool = false) -> String {
        guard !started, let target else { return clientDetail }
        let outcome = ConnectProbe.run(target.address, tls: target.tls, serverName: resolved.host,
                                       timeout: min(10, options.connectTimeout))
        if afterTimeout, outcome == .reachable {
            return "\(resolved.client.authority) accepted the connection but did not start the session: timed out, \(clientDetail)"
        }
        if outcome == .reachable, !resolved.secure, let anyTLS = try? TLSContext(clientCA: nil, insecure: true),
           ConnectProbe.run(target.address, tls: anyTLS, serverName: resolved.host, timeout: 10) == .reachable {
            return "\(resolved.client.authority) serves TLS: use an https:// URL"
        }
        return ConnectFailure.describe(outcome, authority: resolved.client.authority, secure: resolved.secure,
                                       clientDetail: clientDetail)
    }

    /// True when the session never started: the server answered the upgrade (or the first
    /// channel stream) with an error.
    private var refusedUpgrade: Bool {
        if let c = client as? SPDYExecClient { return c.upgradeResponse.map { $0.status != 101 } ?? false }
        if let c = client as? HTTP2ExecClient { return c.version == nil }
        return ExecCLI.webSocketRefused(client)
    }

    /// A status as one line: the message, with errno numbers spelled out.
    static func describe(_ status: ExecStatus) -> String {
        var text = status.message
        if case .failure(let message, _, _) = status { text = message }
        text = text.replacing("backend", with: "server")
        if let open = text.firstRange(of: "(error("), let close = text[open.upperBound...].firstIndex(of: ")"),
           let number = Int32(text[open.upperBound..<close]) {
            text.replaceSubrange(open.lowerBound...text.index(after: close), with: "(" + String(cString: strerror(number)) + ")")
        }
        return text
    }
}
