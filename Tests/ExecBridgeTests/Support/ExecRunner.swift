@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// Runs one exec session through an in-repo client against a gateway, on a loop driven by the
/// test thread, feeding stdin with backpressure and collecting what a user would see.
final class ExecRun: SessionEndpointDelegate {
    /// `.ws` offers its subprotocols in order (empty: no `Sec-WebSocket-Protocol`, the unnamed protocol).
    enum Wire: Equatable { case spdy, h2Prior, h2Upgrade, h2TLS, ws([WebSocketSubprotocol]) }

    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var status: ExecStatus?
    var ended: EndReason?
    var halfClosed: [Channel] = []
    var peakClientPending = 0

    private var client: SessionEndpoint!
    private let stdin: [UInt8]?
    private var offset = 0
    private var sentEOF = false
    private let closeStdin: Bool
    private var resizes: [TerminalSize]
    /// Called on each loop turn once the session is ready (tests that act mid-session).
    var onTick: ((ExecRun) -> Void)?
    /// Hand stdin and resizes to the client at once, before its streams exist (it must queue them).
    var early = false

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    var exitCode: Int? { status?.exitCode }

    init(stdin: [UInt8]? = nil, closeStdin: Bool = true, resizes: [TerminalSize] = []) {
        self.stdin = stdin
        self.closeStdin = closeStdin
        self.resizes = resizes
    }

    /// Runs the session to its end (or `timeout` seconds).
    @discardableResult
    func run(_ proto: Wire, port: UInt16, path: String, versions: [ChannelVersion] = [.v4, .v3, .v2, .v1],
             tty: Bool = false, tls: TLSContext? = nil, timeout: Double = 30, optionsOverride: ExecClientOptions? = nil,
             file: StaticString = #filePath, line: UInt = #line) -> ExecRun {
        let loop = EventLoop()
        let query = Self.flags(of: path)
        var options = ExecClientOptions(authority: "127.0.0.1:\(port)", path: path, stdin: query.stdin,
                                        stdout: query.stdout, stderr: query.stderr, tty: tty || query.tty)
        options.versions = versions
        if let optionsOverride { options = optionsOverride }
        let address = try! SocketAddress(host: "127.0.0.1", port: port)
        switch proto {
        case .spdy:
            let c = SPDYExecClient(options: options, delegate: self)
            client = c
            c.start(loop: loop, address: address)
        case .h2Prior, .h2Upgrade, .h2TLS:
            let transport: HTTP2ExecClient.Transport = proto == .h2Prior ? .priorKnowledge : proto == .h2Upgrade ? .upgrade : .tls
            let c = HTTP2ExecClient(options: options, transport: transport, delegate: self)
            client = c
            c.start(loop: loop, address: address, tls: tls, serverName: "localhost")
        case .ws(let subprotocols):
            let c = WebSocketExecClient(options: options, subprotocols: subprotocols, delegate: self)
            client = c
            c.start(loop: loop, address: address, tls: tls, serverName: "localhost")
        }
        if early {
            for size in resizes { client.receive(.resize(size)) }
            resizes = []
            if let stdin {
                stdin.withUnsafeBytes { client.receive(.data(.stdin, $0)) }
                offset = stdin.count
            }
        }
        let ticker = LoopTimer(loop: loop, after: 0.005, repeats: true) { [unowned self] in self.tick() }
        let deadline = EventLoop.now() + timeout
        while status == nil && ended == nil && EventLoop.now() < deadline {
            loop.runOnce()
        }
        ticker.cancel()
        if status == nil && ended == nil {
            XCTFail("session did not end within \(timeout) s", file: file, line: line)
            client.terminate(.timeout)
        }
        // Let the client's last frames (GOAWAY) go out. An HTTP/2 server keeps its connection for
        // further sessions and closes on the client's GOAWAY: wait for that (bounded), or the
        // client's socket and loop would outlive the run.
        let linger = EventLoop.now() + 0.05
        while EventLoop.now() < linger { loop.runOnce(block: false) }
        if let h2 = client as? HTTP2ExecClient {
            let closing = EventLoop.now() + 2
            while !h2.isClosed && EventLoop.now() < closing { loop.runOnce(block: false); usleep(1000) }
        }
        client = nil
        return self
    }

    var isReady: Bool {
        if let c = client as? SPDYExecClient { return c.isReady }
        if let c = client as? HTTP2ExecClient { return c.isReady }
        if let c = client as? WebSocketExecClient { return c.isReady }
        return false
    }

    private func tick() {
        guard status == nil, ended == nil, isReady || early else { return }
        if !resizes.isEmpty { client.receive(.resize(resizes.removeFirst())) }
        if let stdin {
            while offset < stdin.count && client.pendingBytes < 256 * 1024 {
                let n = min(64 * 1024, stdin.count - offset)
                stdin[offset..<offset + n].withUnsafeBytes { client.receive(.data(.stdin, $0)) }
                offset += n
            }
            if offset == stdin.count && !sentEOF && closeStdin {
                sentEOF = true
                client.receive(.halfClose(.stdin))
            }
        }
        peakClientPending = max(peakClientPending, client.pendingBytes)
        onTick?(self)
    }

    /// The client vanishes: its socket closes at once, mid-session.
    func kill() {
        if let c = client as? SPDYExecClient { c.abort() }
        if let c = client as? HTTP2ExecClient { c.abort() }
        if let c = client as? WebSocketExecClient { c.abort() }
        ended = .clientGone
    }

    /// Stops reading output for `seconds` (a slow reader).
    func pauseReading(_ on: Bool) { client.setReading(!on) }

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        switch event {
        case .data(.stdout, let bytes): stdout.append(contentsOf: bytes)
        case .data(.stderr, let bytes): stderr.append(contentsOf: bytes)
        case .halfClose(let channel): halfClosed.append(channel)
        case .exit(let status): self.status = status
        default: break
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {}

    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        ended = reason
    }

    /// Which channels a path's query asks for (both flag styles), to open the right streams.
    static func flags(of path: String) -> (stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) {
        guard let routed = ExecRouter.route(method: "POST", target: path), case .success(let r) = routed else {
            return (false, true, true, false)
        }
        return (r.stdin, r.stdout, r.stderr, r.tty)
    }
}

/// Processes whose command line contains `marker` (to check that nothing was left behind).
func processes(containing marker: String) -> [Int32] {
    guard let dir = opendir("/proc") else { return [] }
    defer { closedir(dir) }
    var pids: [Int32] = []
    while let entry = readdir(dir) {
        // d_name is read in place: a dirent is only as long as its name (d_reclen), so copying the
        // whole 256-byte array reads past the directory buffer (address sanitizer).
        let namePointer = UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let name = String(cString: namePointer.assumingMemoryBound(to: CChar.self))
        guard let pid = Int32(name), pid != getpid() else { continue }
        guard let fd = fopen("/proc/\(pid)/cmdline", "r") else { continue }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = fread(&buffer, 1, buffer.count, fd)
        fclose(fd)
        let cmdline = String(decoding: buffer[0..<n].map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        if cmdline.contains(marker) { pids.append(pid) }
    }
    return pids
}
