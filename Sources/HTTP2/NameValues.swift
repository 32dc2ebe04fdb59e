import CNghttp2

/// Lays the headers out in one buffer, names lowercased, for nghttp2 to copy during the call. Both
/// the bytes and the nghttp2_nv array live in temporary (stack, when small) allocations: this runs
/// for every response.
func withNameValues<R>(_ headers: [HTTP2Header], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
    var total = 0
    for header in headers { total += header.name.utf8.count + header.value.utf8.count }
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(total, 1)) { bytes in
        withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(headers.count, 1)) { nva in
            let base = bytes.baseAddress!
            var offset = 0
            for index in headers.indices {
                var name = headers[index].name
                let nameStart = offset
                name.withUTF8 { utf8 in
                    for byte in utf8 {
                        base[offset] = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte
                        offset += 1
                    }
                }
                var value = headers[index].value
                let valueStart = offset
                value.withUTF8 { utf8 in
                    if let source = utf8.baseAddress { (base + offset).update(from: source, count: utf8.count) }
                    offset += utf8.count
                }
                nva[index] = nghttp2_nv(name: base + nameStart, value: base + valueStart,
                                        namelen: valueStart - nameStart, valuelen: offset - valueStart,
                                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return body(UnsafePointer(nva.baseAddress!), headers.count)
        }
    }
}
