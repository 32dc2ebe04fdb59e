@testable import ExecBridge
import ExecModel
import Glibc
import Logging
import Reactor
import XCTest

/// Several in-repo clients at once on one loop driven by the test thread (attach tests: many
/// sessions open together, acting in turn), each recording what its user would see.
final class AttachClients {
    let loop = EventLoop()
    let port: UInt16
    private(set) var clients: [AttachClient] = []

    init(port: UInt16) { self.port = port }

    deinit {
        for client in clients where !client.isOver { client.kill() }
        let linger = EventLoop.now() + 0.1
        while EventLoop.now() < linger { loop.runOnce(block: false); usleep(1000) }
    }

    /// Opens a session (`path` carries the flags) on `wire`.
    func open(_ wire: ExecRun.Wire, _ path: String, tty: Bool = false,
              headers: [(name: String, value: String)] = []) -> AttachClient {
        let client = AttachClient(loop: loop, port: port, wire: wire, path: path, tty: tty, headers: headers)
        clients.append(client)
        return client
    }

    /// Drives the loop until `condition` holds; false after `timeout` seconds.
    @discardableResult
    func pump(timeout: Double = 15, until condition: () -> Bool) -> Bool {
        let deadline = EventLoop.now() + timeout
        while !condition() {
            if EventLoop.now() > deadline { return false }
            for client in clients { client.tick() }
            loop.runOnce(block: false)
            usleep(1000)
        }
        return true
    }
}

final class AttachClient: SessionEndpointDelegate {
    private var client: SessionEndpoint!
    private var input: [UInt8] = []
    private var inputEnd = false
    private var endSent = false
    private var sizes: [TerminalSize] = []
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var status: ExecStatus?
    var ended: EndReason?
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var isOver: Bool { status != nil || ended != nil }

    init(loop: EventLoop, port: UInt16, wire: ExecRun.Wire, path: String, tty: Bool,
         headers: [(name: String, value: String)] = []) {
        let query = ExecRun.flags(of: path)
        var options = ExecClientOptions(authority: "127.0.0.1:\(port)", path: path, stdin: query.stdin,
                                        stdout: query.stdout, stderr: query.stderr, tty: tty || query.tty)
        options.headers = headers
        let address = try! SocketAddress(host: "127.0.0.1", port: port)
        switch wire {
        case .spdy:
            let c = SPDYExecClient(options: options, delegate: self)
            client = c
            c.start(loop: loop, address: address)
        case .h2Prior, .h2Upgrade, .h2TLS:
            let c = HTTP2ExecClient(options: options, transport: wire == .h2Prior ? .priorKnowledge : .upgrade, delegate: self)
            client = c
            c.start(loop: loop, address: address, tls: nil, serverName: "localhost")
        case .ws(let subprotocols):
            let c = WebSocketExecClient(options: options, subprotocols: subprotocols, delegate: self)
            client = c
            c.start(loop: loop, address: address, tls: nil, serverName: "localhost")
        }
    }

    var isReady: Bool {
        if let c = client as? SPDYExecClient { return c.isReady }
        if let c = client as? HTTP2ExecClient { return c.isReady }
        if let c = client as? WebSocketExecClient { return c.isReady }
        return false
    }

    func type(_ text: String) { input += Array(text.utf8) }
    func closeStdin() { inputEnd = true }
    func resize(width: UInt16, height: UInt16) { sizes.append(TerminalSize(width: width, height: height)) }
    func pauseReading(_ paused: Bool) { client.setReading(!paused) }

    /// The client vanishes (detach by closing the connection).
    func kill() {
        if let c = client as? SPDYExecClient { c.abort() }
        if let c = client as? HTTP2ExecClient { c.abort() }
        if let c = client as? WebSocketExecClient { c.abort() }
        ended = .clientGone
    }

    fileprivate func tick() {
        guard !isOver, isReady else { return }
        for size in sizes { client.receive(.resize(size)) }
        sizes = []
        if !input.isEmpty {
            input.withUnsafeBytes { client.receive(.data(.stdin, $0)) }
            input = []
        }
        if inputEnd && !endSent {
            endSent = true
            client.receive(.halfClose(.stdin))
        }
    }

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        switch event {
        case .data(.stdout, let bytes): stdout.append(contentsOf: bytes)
        case .data(.stderr, let bytes): stderr.append(contentsOf: bytes)
        case .exit(let status): self.status = status
        default: break
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {}
    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) { ended = reason }
}

/// A gateway whose local backend runs `inventory`'s main processes (as `serve --inventory` does).
func attachGateway(_ yaml: String, threads: Int = 2, grace: Double = 0.5,
                   configure: (inout GatewayConfig) -> Void = { _ in }) throws -> GatewayHarness {
    try GatewayHarness(threads: threads, grace: grace, configure: configure, backend: try attachBackend(yaml, grace: grace))
}

/// Per-loop local backends sharing one hub of `yaml`'s main processes.
func attachBackend(_ yaml: String, grace: Double = 0.5) throws -> @Sendable (EventLoop) -> Backend {
    let inventory = try Inventory(yaml: yaml)
    var log = Logger(label: "test")
    log.logLevel = ProcessInfoLevel.level
    let logger = log
    let hub = MainProcessHub(inventory: inventory, logger: logger, graceSeconds: grace)
    return { loop in
        hub.adopt(loop)
        return LocalBackend(inventory: inventory, logger: logger, graceSeconds: grace, mainProcesses: hub)
    }
}
