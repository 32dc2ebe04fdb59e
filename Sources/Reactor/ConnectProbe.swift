import COpenSSL
import Glibc

/// One blocking attempt to reach a server (TCP, then the TLS handshake with the caller's
/// context), to learn why a connection failed: the event-driven clients only see "closed", and
/// the cause (refused, timed out, a certificate that does not verify, a cleartext port) is what a
/// user needs. Runs after the client's loop has ended; nothing else uses the socket.
public enum ConnectProbe {
    public enum Outcome: Equatable, Sendable {
        /// TCP (and TLS, when asked) worked: the trouble is above, in HTTP or the exec protocol.
        case reachable
        case refused
        case timedOut
        /// connect() failed for another reason (errno).
        case unreachable(Int32)
        /// The server's certificate did not verify: OpenSSL's verify result, as it words it.
        case certificateRejected(String)
        /// The handshake failed otherwise (OpenSSL's error), typically a cleartext port.
        case handshakeFailed(String)
    }

    public static func run(_ address: SocketAddress, tls: TLSContext?, serverName: String?, timeout: Double) -> Outcome {
        var storage = address.storage
        let family = Int32(storage.ss_family)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .unreachable(errno) }
        defer { close(fd) }
        let started = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, address.length) }
        }
        if started != 0 && errno != EINPROGRESS { return outcome(errno) }
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&entry, 1, Int32(timeout * 1000)) > 0 else { return .timedOut }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
        if failure != 0 { return outcome(failure) }
        guard let tls else { return .reachable }
        return handshake(fd, tls: tls, serverName: serverName, timeout: timeout)
    }

    private static func outcome(_ error: Int32) -> Outcome {
        switch error {
        case ECONNREFUSED: return .refused
        case ETIMEDOUT: return .timedOut
        default: return .unreachable(error)
        }
    }

    private static func handshake(_ fd: Int32, tls: TLSContext, serverName: String?, timeout: Double) -> Outcome {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard let ssl = SSL_new(tls.context) else { return .handshakeFailed("SSL_new failed") }
        defer { SSL_free(ssl) }
        if let serverName { setPeerName(ssl, serverName) }
        SSL_set_fd(ssl, fd)
        ERR_clear_error()
        if SSL_connect(ssl) == 1 {
            SSL_shutdown(ssl)
            return .reachable
        }
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK {
            return .certificateRejected(String(cString: X509_verify_cert_error_string(verify)))
        }
        if ERR_peek_error() == 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .timedOut }
        return .handshakeFailed(TLSContext.lastError())
    }
}
