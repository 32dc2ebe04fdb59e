@testable import ExecBridge
import ExecModel
import HTTP2
import Reactor

/// The HTTP/2 port-forward form (pfwire §4) served by a fake made of the repo's HTTP/2 codec, on
/// the test's loop, by prior knowledge: every request stream is recorded and answered `:status
/// 200`; a data stream to an allowed port echoes and answers END_STREAM with END_STREAM (then its
/// error stream ends empty); any other port gets kubelet's text on its error stream and both end.
/// A pod named `missing` is refused with 404 and a Status body.
final class FakeHTTP2PortForwardServer: ConnectionHandler, HTTP2SessionDelegate {
    let listener: Listener
    var port: UInt16 { listener.address.port }
    private(set) var requests: [[HTTP2Header]] = []
    private let allowed: Set<UInt16>
    private var connection: Connection?
    private var session: HTTP2Session?
    private var pairs: [String: (error: Int32?, data: Int32?)] = [:]
    private var streamPort: [Int32: UInt16] = [:]
    private var streamRequest: [Int32: String] = [:]

    init(loop: EventLoop, allowedPorts: Set<UInt16>) throws {
        allowed = allowedPorts
        var accept: ((Int32) -> Void)?
        listener = try Listener(loop: loop, address: SocketAddress(host: "127.0.0.1", port: 0)) { fd, _ in accept?(fd) }
        accept = { [unowned self] fd in
            let connection = Connection(loop: loop, fd: fd)
            connection.handler = self
            self.connection = connection
            let session = HTTP2Session(role: .server, delegate: self)
            try? session.start()
            self.session = session
            session.flush()
        }
    }

    func connectionDidRead(_ connection: Connection) {
        connection.consumeInput { chunk in
            try? session?.receive(chunk)
            return chunk.count
        }
        session?.flush()
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        self.connection = nil
    }

    func http2Session(_ s: HTTP2Session, write bytes: UnsafeRawBufferPointer) {
        connection?.write(bytes)
    }

    func http2Session(_ s: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32, endStream: Bool, isTrailer: Bool) {
        guard !isTrailer else { return }
        requests.append(headers)
        if headers.first(":path")?.contains("/missing") == true {
            let body = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"missing\" not found","reason":"NotFound","code":404}"#
            try? s.submitResponse(stream: stream, headers: [HTTP2Header(":status", "404"), HTTP2Header("content-type", "application/json")],
                                  hasBody: true)
            _ = try? s.sendData(Array(body.utf8), stream: stream)
            try? s.endStream(stream)
            return
        }
        let request = headers.first("requestid") ?? ""
        let port = UInt16(headers.first("port") ?? "") ?? 0
        streamPort[stream] = port
        streamRequest[stream] = request
        var pair = pairs[request] ?? (nil, nil)
        if headers.first("streamtype") == "error" { pair.error = stream } else { pair.data = stream }
        pairs[request] = pair
        try? s.submitResponse(stream: stream, headers: [HTTP2Header(":status", "200")], hasBody: true)
        if let error = pair.error, let data = pair.data, !allowed.contains(port) {
            let text = "error forwarding port \(port) to pod ns/pod, uid : dial tcp4 127.0.0.1:\(port): connect: connection refused"
            _ = try? s.sendData(Array(text.utf8), stream: error)
            try? s.endStream(error)
            try? s.endStream(data)
        }
    }

    func http2Session(_ s: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        s.consume(stream: stream, bytes: bytes.count)
        guard let port = streamPort[stream], allowed.contains(port), pairs[streamRequest[stream] ?? ""]?.data == stream else { return }
        _ = try? s.sendData(bytes, stream: stream)
    }

    func http2Session(_ s: HTTP2Session, didReceiveEndStream stream: Int32) {
        guard let request = streamRequest[stream], let pair = pairs[request], pair.data == stream,
              let port = streamPort[stream], allowed.contains(port) else { return }
        try? s.endStream(stream)
        if let error = pair.error { try? s.endStream(error) }
    }
}
