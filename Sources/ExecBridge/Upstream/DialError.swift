import Glibc
import Reactor

/// Why a connection to the upstream could not be opened, worded as Go's net errors are (what
/// Kubernetes puts after `error dialing backend: `).
enum DialError {
    static func describe(_ reason: Connection.CloseReason, upstream: UpstreamConfig) -> String {
        let tls = upstream.url.scheme.usesTLS
        switch reason {
        case .error(let code) where tls && !isNetworkError(code):
            return "tls: handshake with \(upstream.url.authority) failed (certificate not trusted, name mismatch or no common protocol)"
        case .error(let code):
            return "dial tcp \(upstream.address): connect: \(errorText(code))"
        case .timeout:
            return timeout(upstream)
        case .peerClosed, .local:
            return "dial tcp \(upstream.address): connection closed during the TLS handshake"
        }
    }

    static func timeout(_ upstream: UpstreamConfig) -> String {
        "dial tcp \(upstream.address): i/o timeout"
    }

    static func socket(_ code: Int32, upstream: UpstreamConfig) -> String {
        "dial tcp \(upstream.address): socket: \(errorText(code))"
    }

    /// `strerror`, worded as Go's syscall errors are ("connection refused").
    static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        let string = String(cString: text)
        guard let first = string.first, first.isUppercase, string.dropFirst().first?.isLowercase ?? true else { return string }
        return first.lowercased() + string.dropFirst()
    }

    /// errno values that mean the network, not the TLS handshake, failed.
    static func isNetworkError(_ code: Int32) -> Bool {
        [ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ECONNRESET, EADDRNOTAVAIL, ENETDOWN, EHOSTDOWN].contains(code)
    }
}
