import ExecModel
import HTTP1
import Reactor

/// The HTTP/1.1 answer to a client's upgrade request (SPDY, h2c, WebSocket), read incrementally:
/// the head, and for a refusal its body (bounded), which becomes the session's status.
struct UpgradeAnswer {
    enum Step {
        case needMore
        /// 101: the bytes after the head (still in the connection's input) belong to the new protocol.
        case switched(HTTPResponseHead)
        case refused(HTTPResponseHead, ExecStatus)
        case malformed(String)
    }

    /// How much of a refusal's body is kept for its message.
    static let maxBody = 64 * 1024

    private var parser = HTTPResponseParser()
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var bodyLength: Int?

    /// Consumes what the connection has buffered, up to the end of the answer's head (or of a
    /// refusal's body).
    mutating func read(_ connection: Connection) -> Step {
        if head == nil {
            var step: HTTPParseStep<HTTPResponseHead> = .needMore
            connection.consumeInput { chunk in
                step = parser.feed(chunk)
                if case .head(_, let consumed) = step { return consumed }
                return chunk.count
            }
            switch step {
            case .needMore: return .needMore
            case .failure(let error): return .malformed(error.message)
            case .head(let answer, _):
                if answer.status == 101 { return .switched(answer) }
                head = answer
                bodyLength = Int(answer.headers[first: "content-length"] ?? "")
            }
        }
        connection.consumeInput { chunk in
            body.append(contentsOf: chunk.prefix(max(0, Self.maxBody - body.count)))
            return chunk.count
        }
        if let head, let bodyLength, body.count >= min(bodyLength, Self.maxBody) { return .refused(head, refusal) }
        return .needMore
    }

    /// The refusal as it stands (the connection closed before its whole body came).
    var pendingRefusal: ExecStatus? { head == nil ? nil : refusal }

    private var refusal: ExecStatus {
        guard let head else { return .internalError("no answer") }
        return ExecStatus.refusal(code: head.status, body: body)
    }
}

extension ExecStatus {
    /// The status a client reports for a non-101/200 answer: a Status body passes on as it is, any
    /// other body becomes the message; a reason missing is named after the code, as client-go's
    /// NewGenericServerResponse does; redirects are never followed.
    static func refusal(code: Int, body: [UInt8]) -> ExecStatus {
        if (300..<400).contains(code) {
            return .failure(message: "the server answered \(code) (a redirect); redirects are not followed",
                            reason: "InternalError", code: 502)
        }
        var message = body.isEmpty ? "\(code) \(HTTPResponseHead.reasonPhrase(code))"
                                   : String(decoding: body, as: UTF8.self).trimmingASCIIWhitespace
        var reason = RequestError.reason(forCode: code)
        if let status = try? JSONValue.parse(body), let m = status["message"]?.stringValue {
            message = m
            reason = status["reason"]?.stringValue ?? reason
        }
        if code < 400 {
            return .failure(message: "the server did not accept the exec request (answered \(code))",
                            reason: "InternalError", code: 502)
        }
        return .failure(message: message, reason: reason, code: code)
    }
}
