import Reactor

/// Why `execbridge exec` could not run its command, worded the same whatever the protocol
/// (spdy, h2, h2c-upgrade, ws): the clients only report that the connection closed, so a
/// failed session that never started is explained by a `ConnectProbe` of the same address with
/// the same TLS settings.
enum ConnectFailure {
    static func describe(_ outcome: ConnectProbe.Outcome, authority: String, secure: Bool, clientDetail: String) -> String {
        switch outcome {
        case .refused:
            return "cannot connect to \(authority): connection refused (nothing listens there: is the gateway running, on this port?)"
        case .timedOut:
            return "cannot connect to \(authority): timed out (a firewall, or a wrong address?)"
        case .unreachable(let error):
            return "cannot connect to \(authority): \(errorText(error))"
        case .certificateRejected(let reason):
            return "TLS verification of \(authority) failed: \(reason) "
                + "(give --ca with the CA that signed the server's certificate, or --insecure-skip-tls-verify for a test server)"
        case .handshakeFailed(let reason):
            return "TLS handshake with \(authority) failed: \(reason) (is it a cleartext port? then use an http:// URL)"
        case .reachable:
            let hint = secure ? "" : " (if it serves TLS, use an https:// URL)"
            return "\(authority) is not an exec server, or not one speaking this protocol: \(clientDetail)\(hint)"
        }
    }

    /// An upgrade refusal whose body was a Kubernetes Status message (one line of text), not a
    /// web server's error page.
    static func isStatusMessage(_ message: String) -> Bool {
        !message.contains("\n") && !message.hasPrefix("<")
    }

    static func notExecServer(_ authority: String, status: Int) -> String {
        "\(authority) is not an exec server: it answered the upgrade with HTTP \(status) and a page, not a Kubernetes Status "
            + "(check the URL's host, port and path)"
    }
}
