/// The uncompressed name/value block: count(32), then len(32) name len(32) value per pair.
enum SPDYHeaderBlock {
    /// Hop-by-hop names spdystream rejects (its reader then dies), so we refuse to send them.
    static let forbiddenNames: Set<String> = ["connection", "host", "keep-alive", "proxy-connection", "transfer-encoding"]

    /// Serializes `headers`, folding repeated names into one NUL-joined value (spdystream treats a repeated
    /// name as a fatal error). Validates before anything is compressed.
    static func serialize(_ headers: SPDYHeaders, into out: inout [UInt8], maxSize: Int) throws {
        out.removeAll(keepingCapacity: true)
        var names: [String] = []
        var values: [[String]] = []
        for field in headers {
            let name = field.name
            guard !name.isEmpty else { throw SPDYError.invalidHeader("empty name") }
            guard !name.utf8.contains(0) else { throw SPDYError.invalidHeader("NUL in name \(name)") }
            guard !forbiddenNames.contains(name) else { throw SPDYError.invalidHeader("\(name) is not allowed in SPDY") }
            guard !field.value.utf8.contains(0) else { throw SPDYError.invalidHeader("NUL in value of \(name)") }
            if let i = names.firstIndex(of: name) {
                values[i].append(field.value)
            } else {
                names.append(name)
                values.append([field.value])
            }
        }
        out.appendBE32(UInt32(names.count))
        for (name, vals) in zip(names, values) {
            let valueLength = vals.reduce(vals.count - 1) { $0 + $1.utf8.count }
            guard out.count + 8 + name.utf8.count + valueLength <= maxSize else {
                throw SPDYError.invalidHeader("header block exceeds \(maxSize) bytes")
            }
            out.appendBE32(UInt32(name.utf8.count))
            out.append(contentsOf: name.utf8)
            out.appendBE32(UInt32(valueLength))
            for (i, v) in vals.enumerated() {
                if i > 0 { out.append(0) }
                out.append(contentsOf: v.utf8)
            }
        }
    }

    /// Parses an inflated block. NUL-joined values come back as repeated fields; names are lowercased.
    static func parse(_ b: UnsafeRawBufferPointer) throws -> SPDYHeaders {
        guard b.count >= 4 else { throw SPDYError.malformedHeaderBlock("shorter than its count") }
        let count = Int(b.be32(at: 0))
        // Each pair takes at least 8 length bytes and a 1-byte name: bounds the reservation below.
        guard count <= (b.count - 4) / 9 else { throw SPDYError.malformedHeaderBlock("count \(count) exceeds the block") }
        var headers = SPDYHeaders()
        var p = 4
        for _ in 0..<count {
            guard b.count - p >= 4 else { throw SPDYError.malformedHeaderBlock("truncated name length") }
            let nameLength = Int(b.be32(at: p))
            p += 4
            guard nameLength > 0 else { throw SPDYError.malformedHeaderBlock("empty name") }
            guard b.count - p >= nameLength else { throw SPDYError.malformedHeaderBlock("truncated name") }
            let nameBytes = b.slice(p, p + nameLength)
            guard !nameBytes.contains(0) else { throw SPDYError.malformedHeaderBlock("NUL in name") }
            let name = String(decoding: nameBytes, as: UTF8.self)
            p += nameLength
            guard b.count - p >= 4 else { throw SPDYError.malformedHeaderBlock("truncated value length") }
            let valueLength = Int(b.be32(at: p))
            p += 4
            guard b.count - p >= valueLength else { throw SPDYError.malformedHeaderBlock("truncated value") }
            var start = p
            let end = p + valueLength
            for i in p..<end where b[i] == 0 {
                headers.add(name, String(decoding: b.slice(start, i), as: UTF8.self))
                start = i + 1
            }
            headers.add(name, String(decoding: b.slice(start, end), as: UTF8.self))
            p = end
        }
        guard p == b.count else { throw SPDYError.malformedHeaderBlock("\(b.count - p) trailing bytes") }
        return headers
    }
}
