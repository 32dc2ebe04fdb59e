import CNghttp2

/// Lays the headers out in one buffer, names lowercased, for nghttp2 to copy during the call.
func withNameValues<R>(_ headers: [HTTP2Header], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
    var total = 0
    for header in headers { total += header.name.utf8.count + header.value.utf8.count }
    let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(total, 1))
    defer { bytes.deallocate() }
    let nva = UnsafeMutablePointer<nghttp2_nv>.allocate(capacity: max(headers.count, 1))
    defer { nva.deallocate() }
    var offset = 0
    for (index, header) in headers.enumerated() {
        let name = bytes + offset
        for byte in header.name.utf8 {
            bytes[offset] = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte
            offset += 1
        }
        let nameLength = offset - (name - bytes)
        let value = bytes + offset
        var text = header.value
        text.withUTF8 { utf8 in
            if let source = utf8.baseAddress { value.update(from: source, count: utf8.count) }
            offset += utf8.count
        }
        nva[index] = nghttp2_nv(name: name, value: value, namelen: nameLength, valuelen: offset - (value - bytes),
                                flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
    }
    return body(nva, headers.count)
}
