@testable import ExecBridge
import ExecModel
import Foundation
import Glibc
import HTTP2
import Logging
import Reactor
import Synchronization
import XCTest

/// Certificates for the identity tests, made once per run with the openssl command: a client CA,
/// client certificates it signed (alice in developers, root in system:masters, an expired alice),
/// and an impostor claiming system:masters, signed by a CA the gateway does not know.
enum SecurityCertificates {
    struct Files {
        let dir: String
        var clientCA: String { dir + "/ca.pem" }
        func cert(_ name: String) -> (cert: String, key: String) { (dir + "/\(name).pem", dir + "/\(name).key") }
    }

    nonisolated(unsafe) private static var made: Files?

    static func shared() throws -> Files {
        if let made { return made }
        let dir = NSTemporaryDirectory() + "execbridge-security-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func openssl(_ args: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = args
            process.currentDirectoryURL = URL(fileURLWithPath: dir)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
        for ca in ["ca", "other-ca"] {
            try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(ca).key", "-out", "\(ca).pem",
                         "-days", "2", "-subj", "/CN=execbridge test \(ca)"])
        }
        func client(_ name: String, subject: String, ca: String, days: String) throws {
            try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial",
                         "-out", "\(name).pem", "-days", days])
        }
        try client("alice", subject: "/O=developers/O=team-a/CN=alice", ca: "ca", days: "2")
        try client("root", subject: "/O=system:masters/CN=root", ca: "ca", days: "2")
        // Valid until yesterday: verification fails with "certificate has expired".
        try client("expired", subject: "/O=developers/CN=alice", ca: "ca", days: "-1")
        try client("impostor", subject: "/O=system:masters/CN=root", ca: "other-ca", days: "2")
        let files = Files(dir: dir)
        made = files
        return files
    }
}

/// How a test session reaches the gateway.
enum SecurityWire: String, CaseIterable {
    case spdy, spdyTLS, h2Prior, h2Upgrade, h2TLS

    var isTLS: Bool { self == .spdyTLS || self == .h2TLS }
    static let plain: [SecurityWire] = [.spdy, .h2Prior, .h2Upgrade]
    static let tls: [SecurityWire] = [.spdyTLS, .h2TLS]
}

/// One session through the in-repo clients (any wire, TLS with a client certificate, extra
/// headers, GET or POST), run on the test's thread.
final class SecurityRun: SessionEndpointDelegate {
    var stdout: [UInt8] = []
    var status: ExecStatus?
    var ended: EndReason?
    private var client: SessionEndpoint?

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var code: Int? {
        if case .failure(_, _, let code)? = status { return code }
        return nil
    }
    var message: String { status?.message ?? "" }

    static let defaultPath = SessionCases.path(["sh", "-c", "echo hello"])

    @discardableResult
    static func run(_ wire: SecurityWire, port: UInt16, path: String = defaultPath, method: String = "POST",
                    headers: [(name: String, value: String)] = [], certificate: String? = nil,
                    file: StaticString = #filePath, line: UInt = #line) throws -> SecurityRun {
        let r = SecurityRun()
        var tls: TLSContext?
        if wire.isTLS {
            let server = try TestCertificate.shared()
            let files = try SecurityCertificates.shared()
            let pair = certificate.map { files.cert($0) }
            tls = try TLSContext(clientCA: server.cert, certificate: pair?.cert, key: pair?.key,
                                 alpn: wire == .h2TLS ? ["h2"] : ["http/1.1"])
        }
        let flags = ExecRun.flags(of: path)
        var options = ExecClientOptions(authority: "127.0.0.1:\(port)", path: path, stdin: flags.stdin,
                                        stdout: flags.stdout, stderr: flags.stderr, tty: flags.tty)
        options.method = method
        options.headers = headers
        let loop = EventLoop()
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        switch wire {
        case .spdy, .spdyTLS:
            let c = SPDYExecClient(options: options, delegate: r)
            r.client = c
            c.start(loop: loop, address: address, tls: tls, serverName: "localhost")
        case .h2Prior, .h2Upgrade, .h2TLS:
            let transport: HTTP2ExecClient.Transport = wire == .h2Prior ? .priorKnowledge : wire == .h2Upgrade ? .upgrade : .tls
            let c = HTTP2ExecClient(options: options, transport: transport, delegate: r)
            r.client = c
            c.start(loop: loop, address: address, tls: tls, serverName: "localhost")
        }
        let deadline = EventLoop.now() + 30
        let ticker = LoopTimer(loop: loop, after: 0.01, repeats: true) {}
        while r.status == nil && r.ended == nil && EventLoop.now() < deadline { loop.runOnce() }
        ticker.cancel()
        if r.status == nil && r.ended == nil {
            XCTFail("\(wire): the session did not end", file: file, line: line)
            r.client?.terminate(.timeout)
        }
        let linger = EventLoop.now() + 0.05
        while EventLoop.now() < linger { loop.runOnce(block: false) }
        r.client = nil
        return r
    }

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        switch event {
        case .data(.stdout, let bytes): stdout.append(contentsOf: bytes)
        case .exit(let status): self.status = status
        default: break
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {}
    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) { ended = reason }
}

/// A gateway with security settings installed (files in a fresh directory), its audit lines,
/// and everything it logged.
final class SecureGateway {
    let dir: String
    let harness: GatewayHarness
    let logs: LogCapture
    var port: UInt16 { harness.port }
    var auditPath: String { dir + "/audit.log" }

    init(tokens: String? = nil, policy: String? = nil, inventory: String? = nil, clientCA: Bool = false,
         allowAnonymous: Bool = false, audit: Bool = true, redact: [String] = [], threads: Int = 1,
         tls serveTLS: Bool = false, discovery: Bool = false, settings configure: (inout SecuritySettings) -> Void = { _ in }) throws {
        dir = NSTemporaryDirectory() + "execbridge-sec-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var settings = SecuritySettings()
        if let tokens {
            try tokens.write(toFile: dir + "/tokens.csv", atomically: true, encoding: .utf8)
            settings.tokenFile = dir + "/tokens.csv"
            settings.tokenReloadInterval = 0
        }
        if let policy {
            try policy.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
            settings.policyFile = dir + "/policy.yaml"
        }
        settings.allowAnonymous = allowAnonymous
        settings.auditRedact = redact
        if audit { settings.auditLog = dir + "/audit.log" }
        configure(&settings)
        var tls: TLSContext?
        if serveTLS {
            let server = try TestCertificate.shared()
            tls = try TLSContext(certificate: server.cert, key: server.key)
        }
        if clientCA {
            let server = try TestCertificate.shared()
            let files = try SecurityCertificates.shared()
            settings.clientCA = files.clientCA
            tls = try TLSContext(certificate: server.cert, key: server.key, clientCA: files.clientCA)
        }
        let parsedInventory = try inventory.map { try Inventory(yaml: $0) }
        let capture = LogCapture()
        logs = capture
        let logger = capture.logger
        var installError: Error?
        let chosen = settings
        let hub = MainProcessHub(inventory: parsedInventory, logger: logger, graceSeconds: 1)
        harness = try GatewayHarness(threads: threads, configure: { config in
            config.logger = logger
            config.tls = tls
            do { try chosen.install(into: &config) } catch { installError = error }
            if discovery { config.serveDiscovery() }
        }, backend: { loop in
            hub.adopt(loop)
            return LocalBackend(inventory: parsedInventory, logger: logger, graceSeconds: 1, mainProcesses: hub)
        })
        if let installError { throw installError }
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func writeTokens(_ text: String) throws {
        // A new file renamed over the old one, as editors and config management do.
        try text.write(toFile: dir + "/tokens.csv", atomically: true, encoding: .utf8)
    }

    /// The audit lines, once at least `count` are written (lines are written on the gateway's
    /// loop after the client already saw the end; this waits for them, it asserts no time).
    func auditLines(atLeast count: Int, file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
        let deadline = EventLoop.now() + 10
        var lines: [String] = []
        repeat {
            let text = (try? String(contentsOfFile: auditPath, encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n").map(String.init)
            if lines.count >= count { break }
            usleep(10_000)
        } while EventLoop.now() < deadline
        XCTAssertGreaterThanOrEqual(lines.count, count, "audit lines", file: file, line: line)
        return lines.compactMap { text in
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            XCTAssertNotNil(object, "not a JSON object: \(text)", file: file, line: line)
            return object
        }
    }

    var auditText: String { (try? String(contentsOfFile: auditPath, encoding: .utf8)) ?? "" }

    func lastAudit(count: Int, file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
        auditLines(atLeast: count, file: file, line: line).last ?? [:]
    }
}

/// Collects every log line (all levels, with metadata) the way a console handler would print them.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        var logger = Logger(label: "security-test") { [self] _ in CapturingHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let more = event.metadata { all.merge(more) { $1 } }
            var line = "\(event.level) \(event.message)"
            for (key, value) in all.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
            capture.append(line)
            if ProcessInfoLevel.level <= event.level { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
    }
}

/// One HTTP/2 request by prior knowledge on a raw socket, for what the in-repo client does not
/// show (response headers).
final class RawHTTP2Exchange: HTTP2SessionDelegate {
    private var out: [UInt8] = []
    var responseHeaders: [HTTP2Header] = []
    var body: [UInt8] = []
    var done = false

    static func request(port: UInt16, path: String, headers: [(String, String)] = []) throws -> RawHTTP2Exchange {
        let exchange = RawHTTP2Exchange()
        let socket = try RawSocket(port: port)
        let session = HTTP2Session(role: .client, delegate: exchange)
        try session.start()
        var request = [HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"),
                       HTTP2Header(":authority", "127.0.0.1"), HTTP2Header(":path", path),
                       HTTP2Header("x-stream-protocol-version", "v4.channel.k8s.io")]
        for (name, value) in headers { request.append(HTTP2Header(name, value)) }
        _ = try session.submitRequest(headers: request, hasBody: false)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !exchange.done {
            session.flush()
            socket.send(exchange.out)
            exchange.out.removeAll()
            let n = recv(socket.fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            try session.receive(Array(buffer[0..<n]))
        }
        return exchange
    }

    func http2Session(_ session: HTTP2Session, write bytes: UnsafeRawBufferPointer) { out.append(contentsOf: bytes) }
    func http2Session(_ session: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool) {
        responseHeaders += headers
        if endStream { done = true }
    }
    func http2Session(_ session: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        body.append(contentsOf: bytes)
        session.consume(stream: stream, bytes: bytes.count)
    }
    func http2Session(_ session: HTTP2Session, didReceiveEndStream stream: Int32) { done = true }
}

/// Request contexts for unit tests of admission steps (a context comes from a connection).
enum SecurityContexts {
    nonisolated(unsafe) private static let loop = EventLoop()

    static func make(method: String = "POST", target: String = "/", headers: [(name: String, value: String)] = []) -> RequestContext {
        var fds: [Int32] = [0, 0]
        _ = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        close(fds[1])
        let connection = Connection(loop: loop, fd: fds[0], tls: nil)
        defer { connection.close() }
        return RequestContext(method: method, target: target, headers: headers, connection: connection)
    }
}
