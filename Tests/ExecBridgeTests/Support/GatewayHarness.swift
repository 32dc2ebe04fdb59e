@testable import ExecBridge
import ExecModel
import Glibc
import Logging
import Reactor
import XCTest

/// A gateway running in the test process on a free loopback port, with real loop threads.
final class GatewayHarness {
    let gateway: Gateway
    var address: SocketAddress { gateway.addresses[0] }
    var port: UInt16 { address.port }

    init(threads: Int = 1, grace: Double = 1, configure: (inout GatewayConfig) -> Void = { _ in },
         backend: (@Sendable (EventLoop) -> Backend)? = nil) throws {
        var log = Logger(label: "test")
        log.logLevel = ProcessInfoLevel.level
        let logger = log
        let make: @Sendable (EventLoop) -> Backend = backend ?? { _ in LocalBackend(inventory: nil, logger: logger, graceSeconds: grace) }
        var config = GatewayConfig(logger: logger, makeBackend: make)
        config.listen = ["127.0.0.1:0"]
        config.threads = threads
        config.drainTimeout = 5
        configure(&config)
        gateway = Gateway(config: config)
        try gateway.start()
    }

    deinit {
        gateway.shutdown()
        gateway.wait()
    }
}

enum ProcessInfoLevel {
    /// EXECBRIDGE_TEST_LOG=debug shows the gateway's logs while tests run.
    static var level: Logger.Level {
        getenv("EXECBRIDGE_TEST_LOG").flatMap { Logger.Level(rawValue: String(cString: $0)) } ?? .critical
    }
}

/// A blocking loopback socket for raw HTTP/1.1 exchanges.
final class RawSocket {
    let fd: Int32

    init(port: UInt16, timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw POSIXErrorCode(rawValue: errno).map { POSIXError($0) } ?? POSIXError(.EIO) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Reads until the peer closes (or the timeout).
    func readAll() -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    /// Reads one HTTP/1.1 response with a Content-Length body.
    private var data: [UInt8] = []

    func readResponse() -> (status: Int, head: String, body: String)? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = data.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                let bodyStart = end.upperBound
                while data.count - bodyStart < length {
                    let n = recv(fd, &buffer, buffer.count, 0)
                    if n <= 0 { break }
                    data.append(contentsOf: buffer[0..<n])
                }
                let status = Int(head.split(separator: " ")[1]) ?? 0
                let bodyEnd = min(data.count, bodyStart + length)
                let body = String(decoding: data[bodyStart..<bodyEnd], as: UTF8.self)
                data.removeFirst(bodyEnd)
                return (status, head, body)
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return nil }
            data.append(contentsOf: buffer[0..<n])
        }
    }

    /// Bytes read past the last response (what the server sent right behind a 101), handed over once.
    func takeBuffered() -> [UInt8] {
        defer { data = [] }
        return data
    }

    /// True when the peer closed (EOF) within the timeout.
    func peerClosed() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return false }
        }
    }
}

import Foundation
