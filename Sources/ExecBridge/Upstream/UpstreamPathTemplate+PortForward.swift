import ExecModel

/// Port-forward through `--backend-path`: the exec template names the upstream's form, and the
/// port-forward path follows from it as kubelet and the apiserver spell theirs — the `exec`
/// segment becomes `portForward` (kubelet and node-proxy forms) or `portforward` (the apiserver
/// form, where it is the last segment), the `{container}` segment goes (a pod's ports have no
/// container), and the query asks for the tunnel's port (`ports=P`, which the WebSocket form
/// needs and the others ignore).
extension UpstreamPathTemplate {
    /// Why a port-forward `request` cannot be sent with this template (a 400), or nil.
    public func checkPortForward(_ request: ExecRequest) -> RequestError? {
        if uses(.node), request.target.node == nil {
            return .badRequest("the backend path \(template) needs a node name, and this request names none")
        }
        if uses(.uid), request.target.podUID == nil {
            return .badRequest("the backend path \(template) needs the pod UID, and this request has none")
        }
        return nil
    }

    public func expandPortForward(_ request: ExecRequest) -> String {
        let segments = template.split(separator: "/", omittingEmptySubsequences: false)
        let verb = segments.last == "exec" ? "portforward" : "portForward"
        var path: [String] = []
        for segment in segments where segment != "{container}" {
            path.append(segment == "exec" ? verb : substituted(String(segment), request))
        }
        return PortForwardPath.withPorts(path.joined(separator: "/"), request.ports)
    }

    /// Every `{variable}` in one segment, percent-encoded.
    private func substituted(_ segment: String, _ request: ExecRequest) -> String {
        var text = segment
        for variable in Variable.allCases where text.contains("{\(variable.rawValue)}") {
            let value: String?
            switch variable.rawValue {
            case "node": value = request.target.node
            case "namespace": value = request.target.namespace
            case "pod": value = request.target.pod
            case "uid": value = request.target.podUID
            default: value = nil
            }
            text = text.replacing("{\(variable.rawValue)}", with: Self.escape(value ?? "", allowed: Self.segmentSafe))
        }
        return text
    }

    private static let segmentSafe: Set<UInt8> = Set(Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@".utf8))
}
