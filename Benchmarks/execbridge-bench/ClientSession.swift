import ExecBridge
import ExecModel
import Reactor

/// Which in-repo client speaks to the gateway.
enum Wire: String {
    case spdy
    case h2 // HTTP/2 by prior knowledge (h2c)
    case ws // WebSocket, offering v5 then v4 as kubectl does; anything but v5 counts as a failure
}

/// What one client session saw, with times measured from just before the TCP connect.
struct SessionTiming {
    /// Every channel stream was answered (SYN_REPLY / response HEADERS), or for WebSocket the 101
    /// arrived (the gateway starts the command on the upgrade; there are no per-channel streams).
    var ready: Double?
    var firstByte: Double?
    /// The exit status arrived (or the session failed).
    var end: Double
    var stdoutBytes: Int
    var status: ExecStatus?
    var failure: String?
}

/// Collects the client's events without keeping payload.
final class CountingDelegate: SessionEndpointDelegate {
    var stdoutBytes = 0
    var firstByte: Double?
    var status: ExecStatus?
    var ended: EndReason?

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        switch event {
        case .data(.stdout, let payload):
            if firstByte == nil { firstByte = now() }
            stdoutBytes += payload.count
        case .exit(let status):
            self.status = status
        default:
            break
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {}
    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) { ended = reason }
}

/// Runs one exec session with the in-repo client on `loop`, driven from this thread, as
/// Tests/ExecBridgeTests/Support/ExecRunner.swift does (without its post-session linger: the
/// previous connection's close overlaps the next session, as it would for a busy client).
func runClientSession(_ wire: Wire, loop: EventLoop, port: UInt16, command: [String], limit: Double) throws -> SessionTiming {
    let options = clientOptions(port: port, command: command, stderr: true)
    let address = try SocketAddress(host: "127.0.0.1", port: port)
    let delegate = CountingDelegate()

    var expired = false
    let guardTimer = LoopTimer(loop: loop, after: limit) { expired = true }
    defer { guardTimer.cancel() }

    let start = now()
    let started = startClient(wire, options: options, delegate: delegate, loop: loop, address: address)
    let client = started.endpoint
    let isReady = started.isReady
    let mismatch = started.mismatch
    var ready: Double?
    while delegate.status == nil && delegate.ended == nil && !expired {
        loop.runOnce()
        if ready == nil && isReady() { ready = now() - start }
    }
    let end = now() - start
    var failure: String?
    if expired {
        failure = "no exit status within \(Int(limit)) s"
        client.terminate(.timeout)
    } else if let reason = delegate.ended, delegate.status == nil {
        failure = "session ended: \(reason.rawValue)"
    } else if let wrong = mismatch() {
        failure = wrong
    }
    return SessionTiming(ready: ready, firstByte: delegate.firstByte.map { $0 - start }, end: end,
                         stdoutBytes: delegate.stdoutBytes, status: delegate.status, failure: failure)
}

/// The kubectl path form; the gateway serves it with its local backend, the Go server with any path.
func clientOptions(port: UInt16, command: [String], stderr: Bool) -> ExecClientOptions {
    let query = command.map { "command=\(percentEncoded($0))" }.joined(separator: "&")
    let path = "/api/v1/namespaces/default/pods/bench/exec?container=app&\(query)&stdout=true" + (stderr ? "&stderr=true" : "")
    var options = ExecClientOptions(authority: "127.0.0.1:\(port)", path: path, stdin: false, stdout: true,
                                    stderr: stderr, tty: false)
    options.versions = [.v4, .v3, .v2, .v1]
    return options
}

/// A started in-repo client: the endpoint, whether every channel is answered, and why a session that
/// ended well still does not count (WebSocket: a subprotocol other than v5).
struct StartedClient {
    let endpoint: SessionEndpoint
    let isReady: () -> Bool
    let mismatch: () -> String?
}

func startClient(_ wire: Wire, options: ExecClientOptions, delegate: SessionEndpointDelegate, loop: EventLoop,
                 address: SocketAddress) -> StartedClient {
    switch wire {
    case .spdy:
        let c = SPDYExecClient(options: options, delegate: delegate)
        c.start(loop: loop, address: address)
        return StartedClient(endpoint: c, isReady: { c.isReady }, mismatch: { nil })
    case .h2:
        let c = HTTP2ExecClient(options: options, transport: .priorKnowledge, delegate: delegate)
        c.start(loop: loop, address: address)
        return StartedClient(endpoint: c, isReady: { c.isReady }, mismatch: { nil })
    case .ws:
        // The default offer (v5, v4) needs no import of the WebSocket module, which this target
        // does not depend on; the server follows the client's order, so v5 it must be.
        let c = WebSocketExecClient(options: options, delegate: delegate)
        c.start(loop: loop, address: address)
        return StartedClient(endpoint: c, isReady: { c.isReady },
                             mismatch: { c.version == .v5 ? nil : "negotiated \(c.version.map { "\($0)" } ?? "nothing"), not v5" })
    }
}

/// Percent-encodes everything but unreserved characters, for the command in the query.
func percentEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = Array("0123456789ABCDEF")
            out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
        }
    }
    return out
}

/// `stream`: one session printing N bytes (`head -c N /dev/zero`) through a gateway.
enum ClientStream {
    static func run(_ args: Arguments) throws {
        let wire = try wireArgument(args)
        let port = try portArgument(args)
        let bytes = try args.size("bytes", default: 1 << 30)
        let loop = EventLoop()
        let timing = try runClientSession(wire, loop: loop, port: port, command: ["head", "-c", String(bytes), "/dev/zero"],
                                          limit: 600)
        var line = ResultLine()
        line.add("bytes", timing.stdoutBytes)
        line.add("seconds", timing.end, decimals: 3)
        line.add("mbps", megabytesPerSecond(timing.stdoutBytes, timing.end))
        line.addMilliseconds("ready_ms", timing.ready ?? .nan)
        line.addMilliseconds("first_byte_ms", timing.firstByte ?? .nan)
        line.add("client_peak_rss_kb", procStatusKilobytes("VmHWM") ?? -1)
        line.add("exit", timing.status?.exitCode ?? -1)
        let ok = timing.failure == nil && timing.stdoutBytes == bytes && timing.status?.exitCode == 0
        line.add("ok", ok ? "yes" : "no")
        if let failure = timing.failure { line.add("failure", failure.replacingOccurrences(of: " ", with: "_")) }
        line.print()
    }
}

/// `sessions`: N sequential `true` sessions through a gateway, one at a time on one loop.
enum ClientSessions {
    static func run(_ args: Arguments) throws {
        let wire = try wireArgument(args)
        let port = try portArgument(args)
        let count = try args.int("count", default: 1000)
        let samples = try SampleLog(path: args.optionalString("samples"))
        let loop = EventLoop()
        var ready = Samples()
        var end = Samples()
        var failures = 0
        var firstFailure: String?
        let start = now()
        for _ in 0..<count {
            let timing = try runClientSession(wire, loop: loop, port: port, command: ["true"], limit: 30)
            if timing.failure != nil || timing.status?.exitCode != 0 {
                failures += 1
                if firstFailure == nil { firstFailure = timing.failure ?? "status \(timing.status.map { "\($0)" } ?? "none")" }
                continue
            }
            if let r = timing.ready { ready.add(r) }
            end.add(timing.end)
            samples.add(ready: timing.ready, end: timing.end)
        }
        let seconds = now() - start
        var line = ResultLine()
        line.add("count", count)
        line.add("failures", failures)
        line.add("seconds", seconds, decimals: 3)
        line.add("per_second", Double(count) / seconds)
        line.addMilliseconds("ready_p50_ms", ready.median)
        line.addMilliseconds("ready_p99_ms", ready.percentile(99))
        line.addMilliseconds("exit_p50_ms", end.median)
        line.addMilliseconds("exit_p99_ms", end.percentile(99))
        line.add("ok", failures == 0 ? "yes" : "no")
        if let firstFailure { line.add("failure", firstFailure.replacingOccurrences(of: " ", with: "_")) }
        line.print()
    }
}

func wireArgument(_ args: Arguments) throws -> Wire {
    let text = try args.string("proto")
    guard let wire = Wire(rawValue: text) else { throw UsageError("--proto wants spdy, h2 or ws, got '\(text)'") }
    return wire
}

func portArgument(_ args: Arguments) throws -> UInt16 {
    let port = try args.int("port")
    guard let value = UInt16(exactly: port), value > 0 else { throw UsageError("--port wants 1…65535") }
    return value
}
