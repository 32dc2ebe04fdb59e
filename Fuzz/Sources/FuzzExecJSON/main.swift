import ExecModel
import FuzzSupport

// The JSON the channels carry: the resize channel's stream of objects (split at the chunk size),
// the Status on the error channel for every protocol version, and the JSON parser under both.
fuzzMain { bytes in
    let input = FuzzInput(bytes)
    var resize = ResizeDecoder(maxBuffered: input.selector & 0x80 == 0 ? 4096 : 64)
    var failed = false
    input.chunks(of: input.chunkSize) { chunk in
        guard !failed else { return }
        do {
            for size in try resize.feed(chunk) { expect(size.width >= 1 && size.height >= 1, "size \(size)") }
        } catch {
            failed = true
        }
    }
    let whole = Array(input.rest)
    for version in ChannelVersion.allCases {
        let status = ExecStatus.decode(whole, version: version)
        // What a peer wrote and we read back must survive our own encoding unchanged.
        let once = status.encoded(for: version)
        let twice = ExecStatus.decode(once, version: version).encoded(for: version)
        expect(once == twice, "\(version): \(String(decoding: once, as: UTF8.self)) became \(String(decoding: twice, as: UTF8.self))")
    }
    _ = try? JSONValue.parse(whole, maxDepth: Int(input.selector & 0x3f) + 1)
}
