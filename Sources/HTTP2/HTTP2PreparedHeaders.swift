import CNghttp2

/// A header block laid out once for nghttp2 (names lowercased, as for `[HTTP2Header]`), for an
/// answer sent again and again (a health probe's): submitting it builds no array and copies no
/// String. Immutable once made, so one block may serve every loop.
public final class HTTP2PreparedHeaders: @unchecked Sendable {
    private let bytes: UnsafeMutablePointer<UInt8>
    let fields: UnsafeMutablePointer<nghttp2_nv>
    let count: Int

    public init(_ headers: [HTTP2Header]) {
        var total = 0
        for header in headers { total += header.name.utf8.count + header.value.utf8.count }
        bytes = .allocate(capacity: max(total, 1))
        fields = .allocate(capacity: max(headers.count, 1))
        count = headers.count
        var offset = 0
        for (index, header) in headers.enumerated() {
            let nameStart = offset
            for byte in header.name.utf8 {
                bytes[offset] = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte
                offset += 1
            }
            let valueStart = offset
            for byte in header.value.utf8 {
                bytes[offset] = byte
                offset += 1
            }
            // nghttp2 copies the fields (no NO_COPY flags): the block need not outlive the frame.
            (fields + index).initialize(to: nghttp2_nv(name: bytes + nameStart, value: bytes + valueStart,
                                                      namelen: valueStart - nameStart, valuelen: offset - valueStart,
                                                      flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
        }
    }

    deinit {
        fields.deallocate()
        bytes.deallocate()
    }
}

extension HTTP2Session {
    /// Answers a stream (server) with a prepared header block and a whole body, ending the stream:
    /// `submitResponse`, `sendData` and `endStream` in one call.
    public func submitResponse(stream id: Int32, headers: HTTP2PreparedHeaders, body: UnsafeRawBufferPointer) throws {
        guard let state = streams[id] else { throw HTTP2Error.unknownStream(id) }
        let hasBody = body.count > 0
        var provider = Self.dataProvider
        let rv = hasBody ? nghttp2_submit_response(session, id, headers.fields, headers.count, &provider)
                         : nghttp2_submit_response(session, id, headers.fields, headers.count, nil)
        try check(rv)
        guard hasBody else { return }
        state.hasBody = true
        state.outgoing.append(body)
        state.ended = true
    }
}
