/// Collects the bytes of one head across chunks, up to and including its empty line, and enforces the
/// size limits while doing so (so a peer can never make it buffer more than `maxHeadBytes`).
/// Line ends are CRLF or a bare LF (as nginx accepts); a CR not followed by LF is refused.
struct HeadAccumulator {
    enum Step {
        case needMore
        /// `buffer` holds the head without leading empty lines; `consumed` counts bytes of this chunk.
        case complete(consumed: Int)
        case failure(HTTPParseError)
    }

    private enum ByteResult {
        case more
        case headEnd
        case failure(HTTPParseError)
    }

    let limits: HTTPParseLimits
    /// The longest start line accepted, and the status that refuses a longer one (checked as bytes arrive,
    /// so an endless request line is cut off early).
    let startLineLimit: Int
    let startLineError: HTTPParseError

    private(set) var buffer: [UInt8] = []
    private var lineStart = 0
    private var sawCR = false
    private var completedLines = 0
    /// Leading empty lines (RFC 9112 §2.2 lets a server ignore them) are dropped but count toward the limit.
    private var skippedBytes = 0
    private var failed: HTTPParseError?

    init(limits: HTTPParseLimits, startLineLimit: Int, startLineError: HTTPParseError) {
        self.limits = limits
        self.startLineLimit = startLineLimit
        self.startLineError = startLineError
    }

    mutating func feed(_ chunk: UnsafeRawBufferPointer) -> Step {
        if let failed { return .failure(failed) }
        for index in 0..<chunk.count {
            switch take(chunk[index]) {
            case .more: continue
            case .headEnd: return .complete(consumed: index + 1)
            case .failure(let error): return fail(error)
            }
        }
        return .needMore
    }

    /// Marks the accumulator failed (also for errors found while parsing the complete head).
    mutating func fail(_ error: HTTPParseError) -> Step {
        failed = error
        buffer = []
        return .failure(error)
    }

    /// Starts over for the next head on the same connection.
    mutating func reset() {
        buffer.removeAll(keepingCapacity: buffer.capacity <= 4096)
        lineStart = 0
        sawCR = false
        completedLines = 0
        skippedBytes = 0
    }

    private mutating func take(_ byte: UInt8) -> ByteResult {
        if skippedBytes + buffer.count >= limits.maxHeadBytes {
            return .failure(HTTPParseError(status: 431, message: "request header fields too large"))
        }
        if sawCR && byte != HTTPSyntax.lf {
            return .failure(.bad("bare CR in message head"))
        }
        buffer.append(byte)
        if byte == HTTPSyntax.cr {
            sawCR = true
            return .more
        }
        guard byte == HTTPSyntax.lf else {
            if completedLines == 0 && buffer.count - lineStart > startLineLimit {
                return .failure(startLineError)
            }
            return .more
        }
        let lineLength = buffer.count - 1 - lineStart - (sawCR ? 1 : 0)
        sawCR = false
        if lineLength > 0 {
            completedLines += 1
            lineStart = buffer.count
            if completedLines - 1 > limits.maxHeaderCount {
                return .failure(HTTPParseError(status: 431, message: "too many header fields"))
            }
            return .more
        }
        if completedLines == 0 {
            skippedBytes += buffer.count
            buffer.removeAll(keepingCapacity: true)
            lineStart = 0
            return .more
        }
        return .headEnd
    }
}
