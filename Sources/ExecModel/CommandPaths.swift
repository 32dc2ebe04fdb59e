/// Paths of the kubelet and apiserver that run something in a container or open a tunnel into
/// it — kubelet `/run`, `/exec`, `/attach`, `/portForward`, `/cri/…` (also under the node proxy
/// prefixes) and the apiserver's `pods/{name}/{exec,attach,portforward}` — recognised however
/// they are spelled (percent-encoding, case, empty or dot segments), so that one the router does
/// not serve is refused, never passed through.
public enum CommandPaths {
    private static let kubeletCommands: Set<String> = ["run", "exec", "attach", "portforward", "cri"]
    private static let podSubresources: Set<String> = ["exec", "attach", "portforward"]

    /// The command a path names (`run`, `exec`, `portforward`…), or nil.
    public static func command(in target: String) -> String? {
        var segments = normalized(target)
        // /api/v1/namespaces/{ns}/pods/{pod}/{subresource}[/…]
        if segments.count >= 7, segments.starts(with: ["api", "v1", "namespaces"]), segments[4] == "pods",
           podSubresources.contains(segments[6]) {
            return segments[6]
        }
        // /api/v1/nodes/{node}/proxy/…, [/api/{v1,v1beta1,v1beta3}]/proxy/{nodes,minions}/{node}/…
        if segments.count >= 5, segments.starts(with: ["api", "v1", "nodes"]), segments[4] == "proxy" {
            segments.removeFirst(5)
        } else {
            if segments.count >= 2, segments[0] == "api" { segments.removeFirst(2) }
            if segments.count >= 3, segments[0] == "proxy" { segments.removeFirst(3) }
        }
        guard let first = segments.first, kubeletCommands.contains(first) else { return nil }
        return first
    }

    /// Lowercased, percent-decoded segments without empty and `.` segments, `..` applied (as a
    /// server that cleans paths would route them).
    static func normalized(_ target: String) -> [String] {
        var path = Substring(target)
        for scheme in ["http://", "https://"] where path.prefix(scheme.count).lowercased() == scheme {
            path = path.dropFirst(scheme.count)
            path = path.firstIndex(of: "/").map { path[$0...] } ?? "/"
        }
        if let end = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<end] }
        let decoded: String
        switch PercentDecoding.decode(path, plusIsSpace: false) {
        case .success(let text): decoded = text
        case .failure: decoded = String(path)
        }
        var segments: [String] = []
        for segment in decoded.lowercased().split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(String(segment))
            }
        }
        return segments
    }

    /// The answer to a command path the gateway does not serve.
    public static func refusal(_ command: String) -> RequestError {
        switch command {
        case "exec", "attach":
            return .notFound("not an \(command) path this gateway serves: expected /\(command)/{namespace}/{pod}/{container} or an apiserver or node-proxy form")
        case "portforward":
            return .notFound("not a port-forward path this gateway serves: expected /portForward/{namespace}/{pod} or an apiserver or node-proxy form")
        default:
            return RequestError(code: 501, reason: "NotImplemented",
                                message: "\(command) requests are not served by this gateway, and are never passed through")
        }
    }
}
