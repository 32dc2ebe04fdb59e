import HTTP2

/// Health probes on HTTP/2, answered at HEADERS time: a load balancer probes thousands of times a
/// second, so a probe is recognised in the received bytes (no String per header) and the healthy
/// answer's header block is laid out once for the process (the same fields `respond` would build).
extension HTTP2ServerConnection {
    private static let healthy = HealthHandler.healthy
    private static let healthyHeaders = HTTP2PreparedHeaders(
        responseHeaders(status: healthy.status, contentType: healthy.contentType, bodyCount: healthy.body.count, extra: []))

    /// A probe is recognised in the block's bytes and answered; any other block becomes the
    /// `[HTTP2Header]` that `openStream` routes.
    func http2Session(_ s: HTTP2Session, didReceiveHeaderBlock block: HTTP2HeaderBlock, stream: Int32,
                      endStream: Bool, isTrailer: Bool) {
        guard !isTrailer, state != .closed else { return }
        if let method = block.first(":method"), Self.isProbeMethod(method), let path = block.first(":path"),
           let answer = services.pipeline.probe(target: path) {
            idleSince = nil
            return respond(stream, probe: answer)
        }
        http2Session(s, didReceiveHeaders: block.headers, stream: stream, endStream: endStream, isTrailer: isTrailer)
    }

    private static func isProbeMethod(_ method: UnsafeRawBufferPointer) -> Bool {
        HTTP2HeaderBlock.bytes(method, equal: "GET") || HTTP2HeaderBlock.bytes(method, equal: "HEAD")
    }

    func respond(_ stream: Int32, probe answer: PlainResponse) {
        let healthy = Self.healthy
        // The shared healthy value compares by identity (same array and string storage): cheap.
        guard answer.status == healthy.status, answer.headers.isEmpty, answer.contentType == healthy.contentType,
              answer.body == healthy.body else {
            return respond(stream, status: answer.status, contentType: answer.contentType, body: answer.body,
                           extra: answer.headers.map { HTTP2Header($0.name.lowercased(), $0.value) })
        }
        do {
            try healthy.body.withUnsafeBytes { try h2.submitResponse(stream: stream, headers: Self.healthyHeaders, body: $0) }
        } catch {
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.internalError)
        }
        flush()
    }
}
