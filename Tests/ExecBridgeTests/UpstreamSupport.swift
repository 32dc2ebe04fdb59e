import Foundation
@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import Synchronization
import XCTest

/// Two in-process gateways on loopback: `upstream` runs sessions on the embedded local backend,
/// `gateway` forwards to it with `--backend SCHEME://127.0.0.1:PORT`.
final class UpstreamPair {
    // The gateway goes first (properties go in this order): its pooled HTTP/2 connections close
    // then, so the upstream does not wait for them through its drain.
    let gateway: GatewayHarness
    let upstream: GatewayHarness
    /// What the upstream saw of each exec request (path, headers).
    let seen = RequestRecorder()

    /// Between the two when asked for: a relay the test can cut (the upstream "dies").
    let relay: TCPRelay?

    /// `holdingReplies`: the relay passes nothing from the upstream until `relay.releaseReplies()`.
    init(_ scheme: UpstreamScheme, relayed: Bool = false, holdingReplies: Bool = false,
         settings: (inout BackendSettings) -> Void = { _ in },
         upstreamConfig: (inout GatewayConfig) -> Void = { _ in }, gatewayConfig: (inout GatewayConfig) -> Void = { _ in }) throws {
        let seen = self.seen
        upstream = try GatewayHarness(grace: 0.5, configure: { config in
            config.pipelineExtensions.append(RecordingExtension(recorder: seen))
            upstreamConfig(&config)
        })
        relay = relayed ? try TCPRelay(to: upstream.port, holdingReplies: holdingReplies) : nil
        var backend = BackendSettings()
        backend.backend = "\(scheme.rawValue)://127.0.0.1:\(relay?.port ?? upstream.port)"
        settings(&backend)
        let chosen = backend
        var failure: Error?
        gateway = try GatewayHarness(configure: { config in
            do { try BackendFactory.install(chosen, into: &config, logger: config.logger) } catch { failure = error }
            gatewayConfig(&config)
        })
        if let failure { throw failure }
    }

    deinit { relay?.stop() }
}

/// A gateway whose backend is `url` (nothing else running).
func gatewayWithBackend(_ url: String, settings: (inout BackendSettings) -> Void = { _ in }) throws -> GatewayHarness {
    var backend = BackendSettings()
    backend.backend = url
    settings(&backend)
    let chosen = backend
    var failure: Error?
    let harness = try GatewayHarness(configure: { config in
        do { try BackendFactory.install(chosen, into: &config, logger: config.logger) } catch { failure = error }
    })
    if let failure { throw failure }
    return harness
}

/// Exec requests as an upstream gateway admitted them; optionally refuses them all.
final class RequestRecorder: @unchecked Sendable {
    struct Seen {
        var target: String
        var headers: [(name: String, value: String)]
        var clientCommonName: String?
        func header(_ name: String) -> [String] { headers.filter { $0.name == name }.map(\.value) }
    }

    private let state = Mutex<(seen: [Seen], refusal: RequestError?)>(([], nil))

    var all: [Seen] { state.withLock { $0.seen } }
    var last: Seen? { all.last }

    func refuse(with error: RequestError?) { state.withLock { $0.refusal = error } }

    fileprivate func record(_ context: RequestContext) -> RequestError? {
        state.withLock {
            $0.seen.append(Seen(target: context.target, headers: context.headers,
                                clientCommonName: context.clientCertificate?.commonName))
            return $0.refusal
        }
    }
}

struct RecordingExtension: PipelineExtension {
    let recorder: RequestRecorder

    func install(into pipeline: RequestPipeline) {
        pipeline.admissionSteps.append(RecordingStep(recorder: recorder))
    }
}

private final class RecordingStep: AdmissionStep {
    let recorder: RequestRecorder
    init(recorder: RequestRecorder) { self.recorder = recorder }

    func admit(_ request: inout ExecRequest, context: RequestContext) -> RequestError? {
        recorder.record(context)
    }
}

/// Gives every exec request of a gateway this identity (what authentication would do).
struct IdentityExtension: PipelineExtension {
    let identity: Identity

    func install(into pipeline: RequestPipeline) {
        pipeline.admissionSteps.append(IdentityStep(identity: identity))
    }
}

private final class IdentityStep: AdmissionStep {
    let identity: Identity
    init(identity: Identity) { self.identity = identity }

    func admit(_ request: inout ExecRequest, context: RequestContext) -> RequestError? {
        request.identity = identity
        return nil
    }
}

/// A loopback port with nothing listening on it (connection refused).
func closedPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
            _ = bind(fd, sa, length)
            return getsockname(fd, sa, &length)
        }
    }
    return UInt16(bigEndian: addr.sin_port)
}

/// A tiny blocking HTTP/1.1 server on its own thread: one request per connection, read whole
/// (Content-Length or chunked body), answered by `respond`, then closed. Records what it got.
final class TinyHTTPServer: @unchecked Sendable {
    struct Request {
        var head: String
        var body: [UInt8]
        var requestLine: String { String(head.split(separator: "\r\n").first ?? "") }
        func header(_ name: String) -> [String] {
            head.split(separator: "\r\n").dropFirst().compactMap { line in
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == name.lowercased() else { return nil }
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
    }

    let port: UInt16
    private let fd: Int32
    private let respond: @Sendable (Request) -> [UInt8]
    private let received = Mutex<[Request]>([])
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    var requests: [Request] { received.withLock { $0 } }

    init(respond: @escaping @Sendable (Request) -> [UInt8]) throws {
        self.respond = respond
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
                guard bind(fd, sa, length) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, sa, &length)
            }
        }
        guard rc == 0 else { throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: addr.sin_port)
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    deinit { stop() }

    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        done.wait()
    }

    private func serve() {
        defer { done.signal() }
        while !stopped.load(ordering: .relaxed) {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            var tv = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            // A pooled h2c backend dials ahead with the HTTP/2 preface: no request for this server.
            if let request = Self.read(client), !request.requestLine.hasPrefix("PRI * HTTP/2.0") {
                received.withLock { $0.append(request) }
                let answer = respond(request)
                var offset = 0
                while offset < answer.count {
                    let n = answer[offset...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { break }
                    offset += n
                }
            }
            shutdown(client, Int32(SHUT_WR))
            var sink = [UInt8](repeating: 0, count: 4096)
            while recv(client, &sink, sink.count, 0) > 0 {}
            close(client)
        }
    }

    private static func read(_ fd: Int32) -> Request? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        func more() -> Bool {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return false }
            data.append(contentsOf: buffer[0..<n])
            return true
        }
        var headEnd: Range<Int>?
        while headEnd == nil {
            headEnd = data.firstRange(of: Array("\r\n\r\n".utf8))
            if headEnd == nil && !more() { return nil }
        }
        let head = String(decoding: data[..<headEnd!.lowerBound], as: UTF8.self)
        var request = Request(head: head, body: [])
        data = Array(data[headEnd!.upperBound...])
        if let length = request.header("content-length").first.flatMap({ Int($0) }) {
            while data.count < length && more() {}
            request.body = Array(data.prefix(length))
        } else if request.header("transfer-encoding").first?.lowercased().hasSuffix("chunked") == true {
            // Decode the chunks (extensions skipped; no trailers in these tests).
            var body: [UInt8] = []
            var index = 0
            while true {
                while data[index...].firstRange(of: Array("\r\n".utf8)) == nil { if !more() { return request } }
                let lineEnd = data[index...].firstRange(of: Array("\r\n".utf8))!
                let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self).prefix { $0 != ";" }
                let size = Int(sizeText, radix: 16) ?? 0
                index = lineEnd.upperBound
                while data.count < index + size + 2 { if !more() { return request } }
                body.append(contentsOf: data[index..<index + size])
                index += size + 2
                if size == 0 { break }
            }
            request.body = body
        }
        return request
    }

    /// A complete response with a Content-Length body.
    static func response(_ status: String, headers: [String] = [], body: [UInt8]) -> [UInt8] {
        var head = "HTTP/1.1 \(status)\r\n"
        for line in headers { head += line + "\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// A complete response with a chunked body (in pieces of `piece` bytes) and a trailer.
    static func chunkedResponse(_ status: String, headers: [String] = [], body: [UInt8], piece: Int = 1000) -> [UInt8] {
        var out = Array("HTTP/1.1 \(status)\r\n\(headers.map { $0 + "\r\n" }.joined())Transfer-Encoding: chunked\r\n\r\n".utf8)
        var offset = 0
        while offset < body.count {
            let n = min(piece, body.count - offset)
            out += Array("\(String(n, radix: 16))\r\n".utf8) + body[offset..<offset + n] + Array("\r\n".utf8)
            offset += n
        }
        out += Array("0\r\nX-Checksum: \(body.count)\r\n\r\n".utf8)
        return out
    }
}

extension RawSocket {
    /// Everything until the peer closes, split into head and body.
    func readUntilClose() -> (head: String, body: [UInt8]) {
        let all = readAll()
        guard let end = all.firstRange(of: Array("\r\n\r\n".utf8)) else { return (String(decoding: all, as: UTF8.self), []) }
        return (String(decoding: all[..<end.lowerBound], as: UTF8.self), Array(all[end.upperBound...]))
    }
}

/// A loopback TCP relay to `port`, one thread per direction; `cut()` ends every relayed
/// connection at once, as a crashed upstream (or a cut network) would.
final class TCPRelay: @unchecked Sendable {
    let port: UInt16
    private let target: UInt16
    private let listener: Int32
    private let sockets = Mutex<[Int32]>([])
    private let stopped = Atomic<Bool>(false)
    /// Connections the relay accepted (the upstream's view of how many were dialled).
    let accepted = Atomic<Int>(0)
    /// Relayed connections whose dialling side (the gateway) closed or shut down its sending side.
    let closedByDialer = Atomic<Int>(0)
    /// Bytes from the upstream wait while set (a slow upstream, or a slow network back).
    private let repliesHeld: Atomic<Bool>

    init(to target: UInt16, holdingReplies: Bool = false) throws {
        self.target = target
        repliesHeld = Atomic(holdingReplies)
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = listener
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
                guard bind(fd, sa, length) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, sa, &length)
            }
        }
        guard rc == 0 else { throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: addr.sin_port)
        Thread { [self] in self.acceptLoop() }.start()
    }

    /// Stops accepting and cuts what is relayed (the threads end).
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        releaseReplies()
        cut()
    }

    func releaseReplies() { repliesHeld.store(false, ordering: .relaxed) }

    /// Ends every relayed connection: both peers see the connection close.
    func cut() {
        for fd in sockets.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Ends the `index`th relayed connection (in the order they were accepted) only.
    func cut(connection index: Int) {
        let pair = sockets.withLock { Array($0.dropFirst(2 * index).prefix(2)) }
        for fd in pair { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = target.bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else {
                close(client)
                close(server)
                continue
            }
            sockets.withLock { $0 += [client, server] }
            accepted.add(1, ordering: .relaxed)
            Thread { [self] in
                TCPRelay.copy(from: client, to: server)
                closedByDialer.add(1, ordering: .relaxed)
            }.start()
            Thread { [self] in TCPRelay.copy(from: server, to: client) { repliesHeld.load(ordering: .relaxed) } }.start()
        }
    }

    private static func copy(from source: Int32, to destination: Int32, held: () -> Bool = { false }) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(source, &buffer, buffer.count, 0)
            if n <= 0 { break }
            while held() { usleep(2_000) }
            var offset = 0
            while offset < n {
                let sent = buffer[offset..<n].withUnsafeBytes { send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { break }
                offset += sent
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }
}
