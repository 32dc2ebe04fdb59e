/// The structure of an exec/attach/port-forward path, before its names are decoded and validated.
struct ExecPath {
    var form: PathForm
    var kind: ExecRequest.Kind
    var node: Substring?
    var namespace: Substring
    var pod: Substring
    var podUID: Substring?
    /// nil on the apiserver form (the container comes from the query there).
    var container: Substring?

    /// Matches the path forms of spec §1 on raw (still encoded) segments, so that an encoded '/' stays
    /// inside its segment and then fails name validation instead of changing the route.
    static func match(_ path: Substring) -> ExecPath? {
        guard path.first == "/" else { return nil }
        var segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)[...]

        // /api/v1/namespaces/{ns}/pods/{pod}/exec
        if segments.count == 7, segments.starts(with: ["api", "v1", "namespaces"]),
           segments[segments.startIndex + 4] == "pods", let kind = kind(segments.last) {
            return ExecPath(form: .apiserver, kind: kind, namespace: segments[segments.startIndex + 3],
                            pod: segments[segments.startIndex + 5], container: nil)
        }
        // /api/v1/nodes/{node}/proxy/exec/…
        if segments.count >= 6, segments.starts(with: ["api", "v1", "nodes"]),
           segments[segments.startIndex + 4] == "proxy" {
            return kubeletTail(segments.dropFirst(5), form: .nodeProxy, node: segments[segments.startIndex + 3])
        }
        // [/api/v1beta1 | /api/v1beta3 | /api/v1]/proxy/{minions|nodes}/{node}/exec/…
        if segments.count >= 2, segments.first == "api",
           ["v1beta1", "v1beta3", "v1"].contains(segments[segments.startIndex + 1]) {
            segments = segments.dropFirst(2)
        }
        if segments.count >= 3, segments.first == "proxy" {
            let collection = segments[segments.startIndex + 1]
            let form: PathForm
            switch collection {
            case "minions": form = .legacyProxy
            case "nodes": form = .currentProxy
            default: return nil
            }
            return kubeletTail(segments.dropFirst(3), form: form, node: segments[segments.startIndex + 2])
        }
        if segments.startIndex != 0 { return nil }
        return kubeletTail(segments, form: .kubelet, node: nil)
    }

    /// `exec/{ns}/{pod}/{container}` or `exec/{ns}/{pod}/{uid}/{container}` (also `attach`);
    /// `portForward/{ns}/{pod}[/{uid}]` (a pod's ports: no container).
    private static func kubeletTail(_ segments: ArraySlice<Substring>, form: PathForm, node: Substring?) -> ExecPath? {
        guard let kind = kind(segments.first) else { return nil }
        let names = Array(segments.dropFirst())
        if kind == .portForward { return portForwardTail(names, form: form, node: node) }
        switch names.count {
        case 3:
            return ExecPath(form: form, kind: kind, node: node, namespace: names[0], pod: names[1],
                            container: names[2])
        case 4:
            return ExecPath(form: form, kind: kind, node: node, namespace: names[0], pod: names[1],
                            podUID: names[2], container: names[3])
        default:
            return nil
        }
    }

    private static func kind(_ segment: Substring?) -> ExecRequest.Kind? {
        switch segment {
        case "exec": return .exec
        case "attach": return .attach
        // kubelet registers `portForward`; the apiserver's subresource is `portforward`.
        case "portForward", "portforward": return .portForward
        default: return nil
        }
    }
}
