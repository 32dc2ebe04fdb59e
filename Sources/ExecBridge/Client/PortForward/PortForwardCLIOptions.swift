import Glibc
import ExecModel

/// What `execbridge port-forward` was asked, before anything is opened. Pure values: `resolve()`
/// checks them (URL, port pairs, addresses) so argument handling is testable without sockets.
/// The connection flags are `execbridge exec`'s (`connection`), with the same meaning.
public struct PortForwardCLIOptions: Sendable {
    public enum WireProtocol: String, CaseIterable, Sendable {
        /// SPDY/3.1 upgrade, `portforward.k8s.io` (kubectl ≤ 1.30).
        case spdy
        /// HTTP/2 by prior knowledge (`http://`) or ALPN h2 (`https://`): one connection for every tunnel.
        case h2
        /// HTTP/2 by an HTTP/1.1 `Upgrade: h2c`.
        case h2cUpgrade = "h2c-upgrade"
        /// WebSocket `v4.channel.k8s.io`: one WebSocket per forwarded connection.
        case ws
        /// SPDY inside WebSocket (`SPDY/3.1+portforward.k8s.io`, kubectl 1.31+).
        case wsTunnel = "ws-tunnel"
    }

    /// One `[LOCAL:]REMOTE` argument; `local` 0 asks for a free port.
    public struct PortPair: Equatable, Sendable {
        public var local: UInt16
        public var remote: UInt16
    }

    public var wireProtocol: WireProtocol = .spdy
    /// Token, client certificate, CA, `--insecure-skip-tls-verify`, `--connect-timeout`: as for exec.
    public var connection: ExecCLIOptions
    public var ports: [String]
    /// `--address`: where to listen (`localhost` is 127.0.0.1 and ::1).
    public var addresses: [String] = ["127.0.0.1"]

    public init(url: String, ports: [String]) {
        self.connection = ExecCLIOptions(url: url, command: [])
        self.ports = ports
    }

    public struct Resolved: Sendable {
        public var secure: Bool
        public var host: String
        public var port: UInt16
        /// Authority, the port-forward path (and its query, without `ports`), credentials.
        public var client: ExecClientOptions
        public var pairs: [PortPair]
        /// Literal IPs to listen on.
        public var listenHosts: [String]
        public var wireProtocol: WireProtocol
    }

    public func resolve() throws -> Resolved {
        let c = connection
        if (c.certificate == nil) != (c.key == nil) { throw ExecCLIError.usage("--cert and --key go together") }
        guard c.connectTimeout > 0, c.connectTimeout.isFinite else {
            throw ExecCLIError.usage("--connect-timeout must be a positive number of seconds (got \(c.connectTimeout))")
        }
        if c.token != nil && c.certificate != nil { throw ExecCLIError.usage("--token and --cert/--key are alternatives: give one") }
        let parsed = try ParsedURL(c.url)
        if wireProtocol == .h2cUpgrade && parsed.secure {
            throw ExecCLIError.usage("--protocol h2c-upgrade needs an http:// URL (over TLS use --protocol h2)")
        }
        if !parsed.secure && (c.ca != nil || c.certificate != nil || c.insecureSkipTLSVerify) {
            throw ExecCLIError.usage("--ca, --cert, --key and --insecure-skip-tls-verify need an https:// URL")
        }
        guard PortForwardPath.isPortForward(parsed.path) else {
            throw ExecCLIError.usage("\(parsed.path) is not a port-forward path (e.g. /api/v1/namespaces/NS/pods/POD/portforward or /portForward/NS/POD)")
        }
        guard !ports.isEmpty else { throw ExecCLIError.usage("at least one port is required ([LOCAL:]REMOTE)") }
        let pairs = try ports.map(Self.parsePair)
        var hosts: [String] = []
        for address in addresses.flatMap({ $0.split(separator: ",") }).map({ String($0.filter { $0 != " " }) }) {
            switch address {
            case "localhost": hosts += ["127.0.0.1", "::1"]
            case "": continue
            default:
                guard Self.isIPLiteral(address) else {
                    throw ExecCLIError.usage("--address \(address): give an IP address or localhost")
                }
                hosts.append(address)
            }
        }
        guard !hosts.isEmpty else { throw ExecCLIError.usage("--address: no address to listen on") }
        let query = PortForwardPath.removingPorts(parsed.query)
        var client = ExecClientOptions(authority: parsed.authority, path: parsed.path + (query.isEmpty ? "" : "?" + query),
                                       stdin: false, stdout: false, stderr: false, tty: false)
        client.versions = []
        if let token = c.token { client.headers.append(("Authorization", "Bearer " + token)) }
        return Resolved(secure: parsed.secure, host: parsed.host, port: parsed.port, client: client, pairs: pairs,
                        listenHosts: hosts, wireProtocol: wireProtocol)
    }

    /// `8080`, `18080:8080`, `:8080` (kubectl's forms).
    public static func parsePair(_ text: String) throws -> PortPair {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw ExecCLIError.usage("invalid port \"\(text)\": expected [LOCAL:]REMOTE") }
        func number(_ part: Substring, allowEmpty: Bool) throws -> UInt16 {
            if part.isEmpty && allowEmpty { return 0 }
            guard part.allSatisfy(\.isASCII), let value = UInt16(part), value > 0 else {
                throw ExecCLIError.usage("invalid port \"\(text)\": ports are 1 to 65535")
            }
            return value
        }
        if parts.count == 1 {
            let port = try number(parts[0], allowEmpty: false)
            return PortPair(local: port, remote: port)
        }
        return PortPair(local: try number(parts[0], allowEmpty: true), remote: try number(parts[1], allowEmpty: false))
    }

    static func isIPLiteral(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
