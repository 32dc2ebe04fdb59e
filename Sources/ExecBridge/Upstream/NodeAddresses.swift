import ExecModel
import Glibc
import Reactor
import Yams

/// `--node-addresses FILE`: where each node of a `{node}` backend is dialled.
///
/// ```yaml
/// node-a: 10.0.0.5            # an IP literal: dialled as is, its certificate must carry the IP
/// node-b: kubelet-b.internal  # a host name: resolved when the file is read
/// node-c: "[fd00::7]:10250"   # a port overrides the --backend port for this node
/// ```
///
/// Keys are node names (DNS-1123 subdomains), values `HOST`, `HOST:PORT`, `[IPV6]` or
/// `[IPV6]:PORT`. Anything else is an error with the file and line, so that a reload of a bad file
/// keeps the previous map rather than losing nodes.
public struct NodeAddresses: Sendable {
    /// One node's entry as written.
    public struct Entry: Equatable, Sendable {
        /// Without brackets for IPv6.
        public var host: String
        public var port: UInt16?
        public var line: Int
    }

    public private(set) var entries: [String: Entry]

    /// Far above any cluster's node count; bounds what one file can make the gateway hold.
    static let maxEntries = 50_000
    static let maxFileBytes = 4 << 20

    public init(entries: [String: Entry] = [:]) {
        self.entries = entries
    }

    public init(yaml: String, source: String = "<text>") throws {
        func failure(_ line: Int?, _ problem: String) -> NodeAddressesError {
            NodeAddressesError(source: source, line: line, problem: problem)
        }
        if YAMLNesting.exceedsLimit(yaml) {
            throw failure(nil, "not valid YAML: nested deeper than \(YAMLNesting.limit) levels")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw failure(nil, "not valid YAML: \(error)")
        }
        var entries: [String: Entry] = [:]
        guard let root else { self.init(entries: entries); return }
        if case .scalar(let scalar) = root, scalar.style == .plain, ["", "~", "null"].contains(scalar.string) {
            self.init(entries: entries)
            return
        }
        guard case .mapping(let pairs) = root else {
            throw failure(root.mark?.line, "must be a mapping of node names to addresses (node-a: 10.0.0.5)")
        }
        guard pairs.count <= Self.maxEntries else {
            throw failure(nil, "more than \(Self.maxEntries) nodes")
        }
        for (keyNode, valueNode) in pairs {
            let line = keyNode.mark?.line
            guard case .scalar(let key) = keyNode else { throw failure(line, "node names must be plain strings") }
            let name = key.string
            if let problem = KubernetesNames.dns1123SubdomainErrors(name).first {
                throw failure(line, "node name \"\(Self.printable(name))\": \(problem)")
            }
            guard entries[name] == nil else { throw failure(line, "node \"\(name)\" appears twice") }
            guard case .scalar(let value) = valueNode else {
                throw failure(valueNode.mark?.line ?? line, "node \"\(name)\": the address must be a plain value, not a list or mapping")
            }
            do {
                var entry = try Self.parseAddress(value.string)
                entry.line = line ?? 0
                entries[name] = entry
            } catch let problem as AddressProblem {
                throw failure(valueNode.mark?.line ?? line, "node \"\(name)\": \(problem.text)")
            }
        }
        self.init(entries: entries)
    }

    /// Reads and parses `path` (bounded).
    public static func load(path: String) throws -> NodeAddresses {
        try NodeAddresses(yaml: try SecurityFiles.readText(path, limit: maxFileBytes), source: path)
    }

    // MARK: Addresses

    struct AddressProblem: Error { let text: String }

    /// `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT`, or a bare IPv6 literal without port.
    static func parseAddress(_ text: String) throws -> Entry {
        guard !text.isEmpty else { throw AddressProblem(text: "the address is empty") }
        guard text.utf8.count <= 300, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw AddressProblem(text: "\"\(printable(text))\" is not an address (want HOST, HOST:PORT or [IPV6]:PORT)")
        }
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw AddressProblem(text: "\"\(text)\": unclosed [") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw AddressProblem(text: "\"\(text)\": want [IPV6]:PORT") }
                portText = after.dropFirst()
            }
            guard isIPLiteral(String(host)), host.contains(":") else {
                throw AddressProblem(text: "\"\(text)\": only an IPv6 address goes in brackets")
            }
        } else if text.filter({ $0 == ":" }).count > 1 {
            host = Substring(text)
            guard isIPLiteral(text) else { throw AddressProblem(text: "\"\(text)\" is not an IPv6 address") }
        } else if let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = Substring(text)
        }
        var port: UInt16?
        if let portText {
            guard portText.allSatisfy(\.isNumber), let parsed = UInt16(portText), parsed > 0 else {
                throw AddressProblem(text: "\"\(text)\": port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = parsed
        }
        if !isIPLiteral(String(host)) {
            let lowered = host.lowercased()
            if let problem = KubernetesNames.dns1123SubdomainErrors(lowered).first {
                throw AddressProblem(text: "host \"\(host)\": \(problem)")
            }
            host = Substring(lowered)
        }
        return Entry(host: String(host), port: port, line: 0)
    }

    /// A numeric IPv4 or IPv6 address (nothing to resolve).
    static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// A name as an error may quote it: control and non-ASCII bytes as `?`, at most 64 characters.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(64).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f ? Character($0) : "?" })
    }
}

/// A node-addresses file that cannot be used, with the place of the problem.
public struct NodeAddressesError: Error, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int?
    public var problem: String

    public var description: String {
        "node addresses \(source)\(line.map { ":\($0)" } ?? ""): \(problem)"
    }
}
