import ExecModel

/// `--backend-path`: how an exec request's target becomes the upstream's path and query.
///
/// Variables `{node}`, `{namespace}`, `{pod}`, `{container}`, `{uid}` are replaced by the
/// percent-encoded names. The query is built as the apiserver builds it for a kubelet
/// (`url.Values.Encode`, keys sorted): `command` once per argv element, `container` when the path
/// has no `{container}`, then the kubelet-style flags `error`, `input`, `output`, `tty` with value
/// `1`, only the true ones. For `attach` a literal `exec` path segment becomes `attach`.
public struct UpstreamPathTemplate: Sendable, Equatable {
    public static let kubelet = "/exec/{namespace}/{pod}/{container}"
    public static let apiserver = "/api/v1/namespaces/{namespace}/pods/{pod}/exec"
    public static let nodeProxy = "/api/v1/nodes/{node}/proxy/exec/{namespace}/{pod}/{container}"

    public let template: String
    private let segments: [Segment]

    private enum Segment: Equatable, Sendable {
        case literal(String)
        case variable(Variable)
    }

    enum Variable: String, CaseIterable, Sendable {
        case node, namespace, pod, container, uid
    }

    public init(_ template: String) throws {
        guard template.hasPrefix("/") else {
            throw ConfigurationError("--backend-path \(template): must start with /")
        }
        guard !template.contains("?"), !template.contains("#") else {
            throw ConfigurationError("--backend-path \(template): the query is built by the gateway; give only the path")
        }
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw ConfigurationError("--backend-path \(template): unclosed {")
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard let variable = Variable(rawValue: name) else {
                let known = Variable.allCases.map { "{\($0.rawValue)}" }.joined(separator: ", ")
                throw ConfigurationError("--backend-path \(template): unknown variable {\(name)} (known: \(known))")
            }
            if !literal.isEmpty { segments.append(.literal(literal)) }
            literal = ""
            segments.append(.variable(variable))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        guard !literal.contains("}") else { throw ConfigurationError("--backend-path \(template): stray }") }
        if !literal.isEmpty { segments.append(.literal(literal)) }
        self.template = template
        self.segments = segments
    }

    func uses(_ variable: Variable) -> Bool {
        segments.contains(.variable(variable))
    }

    /// Why `request` cannot be sent with this template (a 400 before any upgrade), or nil.
    public func check(_ request: ExecRequest) -> RequestError? {
        if uses(.node), request.target.node == nil {
            return .badRequest("the backend path \(template) needs a node name, and this request names none")
        }
        if uses(.container), request.target.container == nil {
            return .badRequest("a container name is required (the backend path \(template) has {container})")
        }
        if uses(.uid), request.target.podUID == nil {
            return .badRequest("the backend path \(template) needs the pod UID, and this request has none")
        }
        return nil
    }

    /// Path and query for `request` (call `check` first; missing names expand to nothing).
    public func expand(_ request: ExecRequest) -> String {
        var path = ""
        for segment in segments {
            switch segment {
            case .literal(let text) where request.kind == .attach:
                // Only the template's own words change, never a name that happens to be "exec".
                path += text.split(separator: "/", omittingEmptySubsequences: false)
                    .map { $0 == "exec" ? "attach" : String($0) }.joined(separator: "/")
            case .literal(let text):
                path += text
            case .variable(let variable):
                path += Self.escape(value(variable, of: request) ?? "", allowed: Self.pathSafe)
            }
        }
        return path + "?" + query(request)
    }

    private func value(_ variable: Variable, of request: ExecRequest) -> String? {
        switch variable {
        case .node: return request.target.node
        case .namespace: return request.target.namespace
        case .pod: return request.target.pod
        case .container: return request.target.container
        case .uid: return request.target.podUID
        }
    }

    private func query(_ request: ExecRequest) -> String {
        var items: [String] = []
        if request.kind == .exec {
            for argument in request.command { items.append("command=" + Self.escape(argument, allowed: Self.unreserved)) }
        }
        if !uses(.container), let container = request.target.container {
            items.append("container=" + Self.escape(container, allowed: Self.unreserved))
        }
        if request.stderr { items.append("error=1") }
        if request.stdin { items.append("input=1") }
        if request.stdout { items.append("output=1") }
        if request.tty { items.append("tty=1") }
        return items.joined(separator: "&")
    }

    // MARK: Percent-encoding

    private static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))
    /// Path segments may also carry these unescaped (RFC 3986 pchar minus '/').
    private static let pathSafe: Set<UInt8> = unreserved.union(Array("!$&'()*+,;=:@".utf8))

    /// Every byte outside `allowed` as %XX (a space is %20, never '+', which some servers keep).
    static func escape(_ text: String, allowed: Set<UInt8>) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if allowed.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
