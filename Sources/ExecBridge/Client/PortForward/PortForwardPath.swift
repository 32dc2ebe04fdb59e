/// Port-forward paths as the clients send them: which paths are port-forward paths, and the
/// `ports` query the WebSocket form needs (kubelet reads the ports from it; SPDY and HTTP/2
/// name the port on each stream).
public enum PortForwardPath {
    /// Kubelet registers `portForward`, the apiserver `portforward`: either, as a path segment.
    public static func isPortForward(_ path: String) -> Bool {
        path.split(separator: "/").contains { $0 == "portForward" || $0 == "portforward" }
    }

    /// `query` without its `ports` parameters.
    public static func removingPorts(_ query: String) -> String {
        query.split(separator: "&").filter { !$0.hasPrefix("ports=") && $0 != "ports" }.joined(separator: "&")
    }

    /// `path` (with or without a query) asking for exactly `ports`.
    public static func withPorts(_ path: String, _ ports: [UInt16]) -> String {
        let question = path.firstIndex(of: "?")
        let base = question.map { String(path[..<$0]) } ?? path
        let query = question.map { removingPorts(String(path[path.index(after: $0)...])) } ?? ""
        let items = (query.isEmpty ? [] : [query]) + ports.map { "ports=\($0)" }
        return base + "?" + items.joined(separator: "&")
    }
}
