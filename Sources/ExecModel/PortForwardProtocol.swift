/// The protocol names of port-forward (kubelet `pkg/kubelet/cri/streaming/portforward`).
public enum PortForwardProtocol {
    /// SPDY `X-Stream-Protocol-Version`, and a WebSocket subprotocol kubelet also accepts.
    public static let spdy = "portforward.k8s.io"
    /// The WebSocket tunnel of kubectl 1.31+: SPDY/3.1 frames in WebSocket binary messages.
    public static let tunnel = "SPDY/3.1+portforward.k8s.io"

    /// `X-Stream-Protocol-Version` of a SPDY port-forward upgrade: `portforward.k8s.io` must be
    /// offered (nothing offered: a client older than the header, accepted as kubelet does);
    /// otherwise 403 with the accepted version, as for exec.
    public static func negotiateSPDY(offered: [String]) -> Result<String?, RequestError> {
        if offered.isEmpty { return .success(nil) }
        if offered.contains(spdy) { return .success(spdy) }
        return .failure(RequestError(
            code: 403, reason: "Forbidden",
            message: "unable to upgrade: unable to negotiate protocol: client supports \(VersionNegotiation.goList(offered)), "
                + "server accepts [\(spdy)]",
            headers: [RequestError.HeaderLine("X-Accepted-Stream-Protocol-Versions", spdy)]))
    }
}
