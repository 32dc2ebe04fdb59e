@testable import ExecBridge
@testable import ExecModel
import FuzzSupport

// The exec router (path forms, names, flags, command, port-forward ports) and percent decoding, on an arbitrary target;
// the selector picks the method. Version negotiation runs on the same bytes as offered protocols;
// the command-path classifier (what passthrough never forwards), the browser gate's Host/Origin
// parsers and the trace's secret-header filter run on the same text as header values, as do the
// web terminal's recording id check and the refusal's filter of offered subprotocols.
fuzzMain { bytes in
    let input = FuzzInput(bytes)
    let text = String(decoding: input.rest, as: UTF8.self)
    let methods = ["GET", "POST", "PUT", "OPTIONS"]
    let method = methods[Int(input.selector) % methods.count]
    if case .success(let request)? = ExecRouter.route(method: method, target: text) {
        // An accepted request names nothing that failed validation.
        expect(!request.target.pod.isEmpty && !request.target.namespace.isEmpty, "empty name in \(request)")
        expect(!request.command.isEmpty || request.kind != .exec, "exec without command: \(request)")
        if request.kind == .portForward {
            // A pod's ports: no container, each port 1-65535, at most the bounded count.
            expect(request.target.container == nil, "port-forward with a container: \(request)")
            expect(request.ports.count <= ExecRouter.maximumPorts && !request.ports.contains(0), "bad ports: \(request.ports)")
        }
    }
    _ = PortForwardPorts.isValidRequestID(text)
    if case .success(let port) = PortForwardPorts.port(Substring(text)) { expect(port > 0, "port 0 accepted") }
    // The web terminal's recording id comes from a browser's URL and names a file: never a path.
    if RecordingLibrary.isValidID(text) {
        expect(!text.contains("/") && !text.hasPrefix(".") && !text.contains("..") && text.hasSuffix(".cast"),
               "recording id that reaches outside the directory: \(text)")
    }
    // What a refusal repeats of the offered subprotocols never carries a bearer token.
    expect(!VersionNegotiation.shown(text.split(separator: ",").map(String.init)).contains { BearerToken.isWebSocketToken($0) },
           "a refusal would repeat a bearer token: \(text)")
    _ = PercentDecoding.decode(text, plusIsSpace: input.selector & 1 == 1)
    let offers = VersionNegotiation.splitOffers(text.split(separator: "\n").map(String.init))
    _ = VersionNegotiation.negotiate(offered: offers, supported: ChannelVersion.allCases)
    _ = PortForwardProtocol.negotiateSPDY(offered: offers)
    _ = PortForwardWebSocketForm.negotiate(offers)
    _ = ExecRouter.kind(ofTarget: text)
    _ = CommandPaths.command(in: text)
    if let host = HostAndPort(text) { _ = host.isLoopback }
    if let origin = WebOrigin(serialized: text) { expect(origin.web == origin.web, "origin not equal to itself: \(text)") }
    _ = WebOrigin(authority: text, tls: input.selector & 2 == 2)
    expect(SecretHeaders.value(name: "Authorization", value: text) == SecretHeaders.redacted, "authorization written down")
    let written = SecretHeaders.value(name: "Sec-WebSocket-Protocol", value: text)
    expect(!written.split(separator: ",").contains { SecretHeaders.isBearerSubprotocol($0) && !$0.hasSuffix(SecretHeaders.redacted) },
           "bearer subprotocol written down: \(written)")
}
