import ExecModel
import HTTP1
import HTTP2
import Reactor

/// The CLI's one HTTP/2 connection for every tunnel (pfwire §4): by prior knowledge, over TLS
/// with ALPN h2, or by an h2c upgrade whose request (stream 1) is answered with an empty 200 and
/// carries no tunnel. It is a stream set itself only to hear the connection's life.
public final class HTTP2PortForwardClient: HTTP2StreamSet {
    public private(set) var isReady = false
    public private(set) var failure: ExecStatus?
    /// Told once: the connection is up (nil) or failed before (the failure).
    public var onStart: ((ExecStatus?) -> Void)?
    /// Told once when a connection that had started is gone.
    public var onLost: ((ExecStatus) -> Void)?

    private let options: ExecClientOptions
    private let transport: HTTP2ExecClient.Transport
    private var carrier: HTTP2ClientConnection?

    public init(options: ExecClientOptions, transport: HTTP2ExecClient.Transport) {
        self.options = options
        self.transport = transport
    }

    public func start(loop: EventLoop, address: SocketAddress, tls: TLSContext? = nil, serverName: String? = nil,
                      timeout: Double = 30) {
        let carrier = HTTP2ClientConnection(loop: loop, settings: HTTP2ExecClient.settings, pingInterval: 5,
                                              upgradeRequest: transport == .upgrade ? Self.upgradeRequest(options) : nil,
                                              closesWhenUnused: false)
        self.carrier = carrier
        // Attached first: after an upgrade, stream 1 is this set's.
        carrier.attach(self)
        carrier.dial(to: address, tls: transport == .tls ? tls : nil, serverName: serverName, timeout: timeout,
                     alpnRefusal: transport == .tls ? "the server at \(options.authority) did not agree to h2 by ALPN" : nil,
                     describe: { "cannot connect to \(address): \($0)" }, socketError: { "cannot connect to \(address) (error(\($0)))" })
    }

    /// The h2c upgrade request: a port-forward path, answered `:status 200` on stream 1 with no tunnel.
    static func upgradeRequest(_ options: ExecClientOptions) -> [UInt8] {
        var headers = HTTPHeaders()
        headers.add("Host", options.authority)
        headers.add("Connection", "Upgrade, HTTP2-Settings")
        headers.add("Upgrade", "h2c")
        headers.add("HTTP2-Settings", HTTP2Session.settingsHeaderValue(HTTP2ExecClient.settings))
        for (name, value) in options.headers { headers.add(name, value) }
        return HTTPRequestHead(method: "POST", target: options.path, headers: headers).serialized()
    }

    public func openTunnel(port: UInt16, delegate: SessionEndpointDelegate) -> HTTP2PortForwardTunnel {
        let tunnel = HTTP2PortForwardTunnel(options: options, port: port, secure: transport == .tls, delegate: delegate)
        if let carrier, failure == nil {
            tunnel.start(on: carrier)
        } else {
            tunnel.fail(failure ?? .internalError("not connected"))
        }
        return tunnel
    }

    public var tunnelCount: Int { max(0, (carrier?.sessionCount ?? 1) - 1) }

    /// GOAWAY and a graceful close.
    public func close() {
        carrier?.shutdown()
    }

    public func abort() {
        carrier?.abort()
    }

    // MARK: HTTP2StreamSet

    func carrierReady(_ carrier: HTTP2ClientConnection, upgradedStream: Int32?) {
        isReady = true
        let start = onStart
        onStart = nil
        start?(nil)
    }

    func carrier(_ carrier: HTTP2ClientConnection, headers: [HTTP2Header], stream: Int32, isTrailer: Bool) {}

    func carrier(_ carrier: HTTP2ClientConnection, data bytes: UnsafeRawBufferPointer, stream: Int32) {
        carrier.h2?.consume(stream: stream, bytes: bytes.count)
    }

    func carrier(_ carrier: HTTP2ClientConnection, endStream stream: Int32) {}
    func carrier(_ carrier: HTTP2ClientConnection, closedStream stream: Int32, errorCode: UInt32) {}
    func carrierDrained(_ carrier: HTTP2ClientConnection) {}

    func carrierLost(_ carrier: HTTP2ClientConnection, detail: String, refusal: ExecStatus?) {
        let status = refusal ?? .internalError(detail)
        failure = status
        self.carrier = nil
        if let start = onStart {
            onStart = nil
            start(status)
        } else {
            let lost = onLost
            onLost = nil
            lost?(status)
        }
    }
}
