import ExecModel
import HTTP2
import Reactor

/// What a WebSocket session hears from its extended CONNECT stream.
protocol HTTP2WebSocketStreamOwner: AnyObject {
    /// `:status 200`: WebSocket frames follow; `subprotocol` as the server echoed it.
    func streamAccepted(subprotocol: String?)
    /// Any other status, with its body (a Status).
    func streamRefused(_ status: ExecStatus)
    func streamReceived(_ bytes: UnsafeRawBufferPointer)
    func streamDrained()
    /// The stream or its connection is gone (after `streamAccepted`: like a closed socket).
    func streamClosed(_ detail: String)
    /// The connection cannot carry extended CONNECT (ALPN chose HTTP/1.1, or no
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL): nothing was sent, the session may go another way.
    func streamUnsupported(_ detail: String)
}

/// The client side of RFC 8441: one WebSocket session as an extended CONNECT stream on a (pooled)
/// HTTP/2 connection, the mirror of the server's `HTTP2WebSocketStream`. The stream is the byte
/// pipe the HTTP/1.1 upgrade's socket would be; flow control is the backpressure: received DATA is
/// credited back only while the owner reads.
final class HTTP2WebSocketClientStream: HTTP2StreamSet {
    private weak var owner: HTTP2WebSocketStreamOwner?
    private let options: ExecClientOptions
    private let offered: [String]
    private var carrier: HTTP2ClientConnection?
    private var stream: Int32?
    private var accepted = false
    private var refusal: (status: Int, body: [UInt8])?
    private var reading = true
    private var owedCredit = 0
    private var done = false
    /// END_STREAM sent: waiting (at most `linger`) for the server to end too.
    private var lingerTimer: LoopTimer?

    init(owner: HTTP2WebSocketStreamOwner, options: ExecClientOptions, offered: [String]) {
        self.owner = owner
        self.options = options
        self.offered = offered
    }

    /// Opens the stream as soon as the connection is up and the server's SETTINGS are known.
    func start(sharing carrier: HTTP2ClientConnection) {
        self.carrier = carrier
        carrier.attach(self, reserving: 1)
        if carrier.phase == .ready, carrier.heardServer { open(carrier) }
    }

    private func open(_ carrier: HTTP2ClientConnection) {
        guard !done, stream == nil, let h2 = carrier.h2 else { return }
        guard h2.peerAllowsExtendedConnect else {
            return unsupported("the upstream does not offer RFC 8441 (SETTINGS_ENABLE_CONNECT_PROTOCOL)")
        }
        var headers = [HTTP2Header(":method", "CONNECT"), HTTP2Header(":protocol", "websocket"),
                       HTTP2Header(":scheme", "https"), HTTP2Header(":path", options.path),
                       HTTP2Header(":authority", options.authority), HTTP2Header("sec-websocket-version", "13")]
        if !offered.isEmpty { headers.append(HTTP2Header("sec-websocket-protocol", offered.joined(separator: ", "))) }
        for (name, value) in options.headers { headers.append(HTTP2Header(name.lowercased(), value)) }
        do {
            stream = try carrier.submitRequest(headers, hasBody: true, for: self)
            carrier.flush()
        } catch {
            lost("cannot open the WebSocket stream: \(error)")
        }
    }

    // MARK: The pipe

    func write(_ bytes: UnsafeRawBufferPointer) {
        guard !done, accepted, let stream, let h2 = carrier?.h2 else { return }
        do {
            _ = try h2.sendData(bytes, stream: stream)
        } catch {
            // Not writable any more: the session must not go on as if this was sent.
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.internalError)
            lost("cannot send to the upstream stream: \(error)")
        }
    }

    func flush() { carrier?.flush() }

    var pendingBytes: Int {
        guard let stream, let carrier, let h2 = carrier.h2 else { return 0 }
        return h2.pendingBytes(stream: stream) + carrier.outputCount
    }

    func setReading(_ on: Bool) {
        reading = on
        guard on, owedCredit > 0, let stream, let carrier, let h2 = carrier.h2 else { return }
        h2.consume(stream: stream, bytes: owedCredit)
        owedCredit = 0
        carrier.flush()
    }

    var loop: EventLoop? { carrier?.loop }

    /// END_STREAM after what was written (a reset now could overtake it); the session leaves the
    /// connection when the server ends too, or its stream is reset after `linger` seconds.
    func finish(linger: Double = 1) {
        guard !done else { return }
        owner = nil
        guard let stream, let carrier, let h2 = carrier.h2, h2.isOpen(stream: stream) else {
            return leave(errorCode: HTTP2ErrorCode.noError)
        }
        done = true
        try? h2.endStream(stream)
        carrier.flush()
        lingerTimer = LoopTimer(loop: carrier.loop, after: linger) { [weak self] in
            self?.leave(errorCode: HTTP2ErrorCode.cancel)
        }
    }

    /// Resets the stream now.
    func abort() {
        guard !done else { return }
        leave(errorCode: HTTP2ErrorCode.cancel)
    }

    private func leave(errorCode: UInt32) {
        done = true
        owner = nil
        lingerTimer?.cancel()
        lingerTimer = nil
        guard let carrier else { return }
        self.carrier = nil
        // A stream that ended cleanly both ways is closed already; one still open is reset.
        carrier.detach(self, resetting: stream.map { [$0] } ?? [], errorCode: errorCode)
    }

    private func lost(_ detail: String) {
        guard !done else { return }
        let owner = self.owner
        leave(errorCode: HTTP2ErrorCode.cancel)
        if let refusal {
            owner?.streamRefused(ExecStatus.refusal(code: refusal.status, body: refusal.body))
        } else {
            owner?.streamClosed(detail)
        }
    }

    private func unsupported(_ detail: String) {
        guard !done else { return }
        let owner = self.owner
        leave(errorCode: HTTP2ErrorCode.noError)
        owner?.streamUnsupported(detail)
    }

    // MARK: HTTP2StreamSet

    func carrierReady(_ carrier: HTTP2ClientConnection, upgradedStream: Int32?) {
        if carrier.heardServer { open(carrier) }
    }

    func carrierSettled(_ carrier: HTTP2ClientConnection) {
        open(carrier)
    }

    func carrier(_ carrier: HTTP2ClientConnection, headers: [HTTP2Header], stream: Int32, isTrailer: Bool) {
        guard !done, !isTrailer, !accepted, refusal == nil, stream == self.stream else { return }
        let status = Int(headers.first(":status") ?? "") ?? 0
        guard status == 200 else {
            refusal = (status, [])
            return
        }
        accepted = true
        owner?.streamAccepted(subprotocol: headers.first("sec-websocket-protocol"))
    }

    func carrier(_ carrier: HTTP2ClientConnection, data bytes: UnsafeRawBufferPointer, stream: Int32) {
        guard let h2 = carrier.h2 else { return }
        guard !done, accepted else {
            if var refusal, refusal.body.count < UpgradeAnswer.maxBody {
                refusal.body.append(contentsOf: bytes.prefix(UpgradeAnswer.maxBody - refusal.body.count))
                self.refusal = refusal
            }
            return h2.consume(stream: stream, bytes: bytes.count)
        }
        owner?.streamReceived(bytes)
        if reading { h2.consume(stream: stream, bytes: bytes.count) } else { owedCredit += bytes.count }
    }

    func carrier(_ carrier: HTTP2ClientConnection, endStream stream: Int32) {
        if lingerTimer != nil { return leave(errorCode: HTTP2ErrorCode.noError) }
        // The server ended its side: no frame can follow, as when a socket closes.
        lost("the upstream ended the WebSocket stream")
    }

    func carrier(_ carrier: HTTP2ClientConnection, closedStream stream: Int32, errorCode: UInt32) {
        if lingerTimer != nil { return leave(errorCode: HTTP2ErrorCode.noError) }
        lost(errorCode == 0 ? "the upstream closed the WebSocket stream"
                            : "the upstream reset the WebSocket stream (code \(errorCode))")
    }

    func carrierDrained(_ carrier: HTTP2ClientConnection) {
        owner?.streamDrained()
    }

    func carrierLost(_ carrier: HTTP2ClientConnection, detail: String, refusal: ExecStatus?) {
        self.carrier = nil
        lingerTimer?.cancel()
        if carrier.alpnDeclined, stream == nil { return unsupported(detail) }
        lost(detail)
    }
}
