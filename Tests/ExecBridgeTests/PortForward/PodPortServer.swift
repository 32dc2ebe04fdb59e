import Foundation
import Glibc

/// A TCP server on 127.0.0.1 standing in for a pod's port: each accepted connection runs
/// `serve(fd)` on its own thread, then is closed.
final class PodPortServer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let accepted = NSLock()
    private var count = 0

    /// Echoes everything until the client's EOF, then closes (half-close both ways).
    static let echo: @Sendable (Int32) -> Void = { fd in
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            var offset = 0
            while offset < n {
                let sent = buffer[offset..<n].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }
                offset += sent
            }
        }
    }

    /// Sends `bytes`, then closes.
    static func sending(_ bytes: [UInt8]) -> @Sendable (Int32) -> Void {
        { fd in
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }
                offset += sent
            }
        }
    }

    /// Accepts and never reads or writes, until the test ends.
    static let stall: @Sendable (Int32) -> Void = { _ in sleep(30) }

    init(serve: @escaping @Sendable (Int32) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Bool in
                bind(fd, sa, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: addr.sin_port)
        let listener = fd
        Thread.detachNewThread { [weak self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                self?.accepted.withLock { self?.count += 1 }
                Thread.detachNewThread {
                    serve(client)
                    close(client)
                }
            }
        }
    }

    var connections: Int { accepted.withLock { count } }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
