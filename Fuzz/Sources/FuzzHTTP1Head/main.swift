import FuzzSupport
import HTTP1

// The front door's request head parser (pipelined heads, input split at the selector's chunk size),
// and with the selector's high bit the client's response head parser.
fuzzMain { bytes in
    let input = FuzzInput(bytes)
    if input.selector & 0x80 == 0 {
        var parser = HTTPRequestParser()
        var failed = false
        input.chunks(of: input.chunkSize) { chunk in
            var piece = chunk
            while !failed && !piece.isEmpty {
                switch parser.feed(piece) {
                case .needMore: piece = UnsafeRawBufferPointer(start: nil, count: 0)
                case .head(_, let consumed):
                    expect(consumed > 0 && consumed <= piece.count, "consumed \(consumed) of \(piece.count)")
                    piece = UnsafeRawBufferPointer(rebasing: piece[consumed...])
                case .failure(let error):
                    expect((400...599).contains(error.status), "status \(error.status)")
                    failed = true
                }
            }
        }
    } else {
        var parser = HTTPResponseParser()
        var done = false
        input.chunks(of: input.chunkSize) { chunk in
            guard !done else { return }
            switch parser.feed(chunk) {
            case .needMore: break
            case .head(_, let consumed):
                expect(consumed > 0 && consumed <= chunk.count, "consumed \(consumed) of \(chunk.count)")
                done = true
            case .failure: done = true
            }
        }
    }
}
