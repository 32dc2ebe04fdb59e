/// Port-forward requests: the pod's ports, named in the query (`ports=` on the apiserver form,
/// `port=` as the apiserver passes them on to the kubelet; either, repeated or comma-separated),
/// and the tokens that pair a forwarded connection's streams.
extension ExecRouter {
    /// At most this many ports in one request: each is a channel pair held for the connection's life.
    public static let maximumPorts = 128

    static func portForwardRequest(_ match: ExecPath, node: String?, namespace: String, pod: String,
                                   podUID: String?, parameters: QueryParameters,
                                   rawTarget: String) throws -> ExecRequest {
        let ports: [UInt16]
        switch PortForwardPorts.parse(parameters.all("ports") + parameters.all("port")) {
        case .success(let parsed): ports = parsed
        case .failure(let error): throw error
        }
        let target = ExecTarget(node: node, namespace: namespace, pod: pod, container: nil, podUID: podUID)
        // Both directions of a tunnel always flow: bytes toward the port are "stdin", from it "stdout".
        var request = ExecRequest(kind: .portForward, target: target, command: [], stdin: true, stdout: true,
                                  stderr: false, tty: false, pathForm: match.form, path: rawTarget)
        request.ports = ports
        return request
    }
}

/// Parsing and validation of the port-forward values (ports, request IDs), as kubelet words them.
public enum PortForwardPorts {
    /// Query values, each one port or a comma-separated list, in order (kubelet `NewV4Options`).
    public static func parse(_ values: [String]) -> Result<[UInt16], RequestError> {
        var ports: [UInt16] = []
        for value in values {
            guard !value.isEmpty else { return .failure(.badRequest("query parameter \"port\" cannot be empty")) }
            for text in value.split(separator: ",", omittingEmptySubsequences: false) {
                switch port(text) {
                case .success(let port): ports.append(port)
                case .failure(let error): return .failure(error)
                }
                guard ports.count <= ExecRouter.maximumPorts else {
                    return .failure(.badRequest("at most \(ExecRouter.maximumPorts) ports may be forwarded in one request"))
                }
            }
        }
        return .success(ports)
    }

    /// One decimal port, 1–65535 (the `port` header of a SPDY or HTTP/2 stream, a query value).
    public static func port(_ text: Substring) -> Result<UInt16, RequestError> {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = UInt16(text) else {
            return .failure(.badRequest("unable to parse \(ExecRouter.goQuoted(String(text))) as a port: must be a decimal number from 1 to 65535"))
        }
        guard value > 0 else { return .failure(.badRequest("port \(ExecRouter.goQuoted(String(text))) must be > 0")) }
        return .success(value)
    }

    /// A client-chosen token pairing a connection's error and data streams: 1–32 of [A-Za-z0-9._-],
    /// so that it can name a tunnel in a log line without escaping.
    public static func isValidRequestID(_ text: String) -> Bool {
        let bytes = text.utf8
        return (1...32).contains(bytes.count) && bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    /// The 2-byte little-endian port number that opens each WebSocket port-forward channel (kubelet
    /// `portforward/websocket.go`).
    public static func webSocketPrefix(_ port: UInt16) -> [UInt8] {
        [UInt8(port & 0xff), UInt8(port >> 8)]
    }
}

extension ExecRequest {
    /// The request of one forwarded connection of this port-forward request: the same target and
    /// caller, exactly one port.
    public func tunnel(port: UInt16) -> ExecRequest {
        var request = self
        request.ports = [port]
        return request
    }
}
