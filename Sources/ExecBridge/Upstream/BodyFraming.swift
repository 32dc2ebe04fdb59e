import HTTP1

/// Where an HTTP/1.1 message body ends (RFC 9112 §6.3), for a proxy that forwards the body bytes
/// as they are and must only know when the message is complete.
enum BodyFraming {
    case none
    case length(Int)
    case chunked(ChunkedScanner)
    /// The body ends when the sender closes (a response only).
    case untilClose

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A request's body framing. A transfer coding that does not end in chunked cannot be framed.
    static func request(_ head: HTTPRequestHead) throws -> BodyFraming {
        let codings = head.headers.tokens("transfer-encoding")
        if !codings.isEmpty {
            guard codings.last == "chunked" else { throw Failure(description: "a request transfer coding must end with chunked") }
            return .chunked(ChunkedScanner())
        }
        return try length(head.headers)
    }

    /// A response's body framing, given the request's method.
    static func response(_ head: HTTPResponseHead, requestMethod: String) throws -> BodyFraming {
        if requestMethod == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304 { return .none }
        let codings = head.headers.tokens("transfer-encoding")
        if !codings.isEmpty { return codings.last == "chunked" ? .chunked(ChunkedScanner()) : .untilClose }
        if head.headers.contains("content-length") { return try length(head.headers) }
        return .untilClose
    }

    private static func length(_ headers: HTTPHeaders) throws -> BodyFraming {
        let values = Set(headers.values("content-length").flatMap { $0.split(separator: ",") }.map { String($0).trimmingASCIIWhitespace })
        guard !values.isEmpty else { return .none }
        guard values.count == 1, let text = values.first, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let length = Int(text) else {
            throw Failure(description: "invalid Content-Length")
        }
        return length == 0 ? .none : .length(length)
    }

    var isComplete: Bool {
        switch self {
        case .none: return true
        case .length(let remaining): return remaining == 0
        case .chunked(let scanner): return scanner.isComplete
        case .untilClose: return false
        }
    }

    /// How many of `bytes` belong to this body (the rest is what follows the message).
    mutating func take(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        switch self {
        case .none:
            return 0
        case .length(let remaining):
            let n = min(remaining, bytes.count)
            self = .length(remaining - n)
            return n
        case .chunked(var scanner):
            let n = try scanner.scan(bytes)
            self = .chunked(scanner)
            return n
        case .untilClose:
            return bytes.count
        }
    }
}

/// Follows a chunked body (sizes, extensions, data, trailers) without copying its data, to find
/// where it ends. Bounded: size lines and trailers are limited; a bad byte is an error.
struct ChunkedScanner {
    private enum State { case size, sizeExtension, sizeLF, data, dataCR, dataLF, trailerStart, trailerLine, trailerLF, finalLF, done }

    static let maxLineBytes = 4096
    static let maxTrailerBytes = 64 * 1024

    private var state = State.size
    private var size: UInt64 = 0
    private var digits = 0
    private var lineBytes = 0
    private var trailerBytes = 0
    private var remaining: UInt64 = 0

    var isComplete: Bool { state == .done }

    /// Consumes what belongs to the body from `bytes`; returns that count (less than `bytes.count`
    /// only when the body ended inside them).
    mutating func scan(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        var index = 0
        while index < bytes.count {
            if state == .done { return index }
            if state == .data {
                let n = Int(min(remaining, UInt64(bytes.count - index)))
                remaining -= UInt64(n)
                index += n
                if remaining == 0 { state = .dataCR }
                continue
            }
            try step(bytes[index])
            index += 1
        }
        return index
    }

    private mutating func step(_ byte: UInt8) throws {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        switch state {
        case .size:
            if let value = Self.hexValue(byte) {
                digits += 1
                guard digits <= 15 else { throw BodyFraming.Failure(description: "chunk size too large") }
                size = size << 4 | UInt64(value)
            } else if digits > 0 && (byte == UInt8(ascii: ";") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")) {
                state = .sizeExtension
                lineBytes = 0
            } else if digits > 0 && byte == cr {
                state = .sizeLF
            } else if digits > 0 && byte == lf {
                sizeLineEnded()
            } else {
                throw BodyFraming.Failure(description: "malformed chunk size")
            }
        case .sizeExtension:
            lineBytes += 1
            guard lineBytes <= Self.maxLineBytes else { throw BodyFraming.Failure(description: "chunk extension too long") }
            if byte == cr { state = .sizeLF } else if byte == lf { sizeLineEnded() }
        case .sizeLF:
            guard byte == lf else { throw BodyFraming.Failure(description: "bare CR in chunk size line") }
            sizeLineEnded()
        case .dataCR:
            if byte == cr { state = .dataLF } else if byte == lf { nextChunk() } else {
                throw BodyFraming.Failure(description: "chunk data longer than its size")
            }
        case .dataLF:
            guard byte == lf else { throw BodyFraming.Failure(description: "bare CR after chunk data") }
            nextChunk()
        case .trailerStart:
            if byte == cr { state = .finalLF } else if byte == lf { state = .done } else {
                state = .trailerLine
                try countTrailer()
            }
        case .trailerLine:
            try countTrailer()
            if byte == cr { state = .trailerLF } else if byte == lf { state = .trailerStart }
        case .trailerLF:
            guard byte == lf else { throw BodyFraming.Failure(description: "bare CR in trailer") }
            state = .trailerStart
        case .finalLF:
            guard byte == lf else { throw BodyFraming.Failure(description: "bare CR at the end of a chunked body") }
            state = .done
        case .data, .done:
            break
        }
    }

    private mutating func sizeLineEnded() {
        if size == 0 {
            state = .trailerStart
        } else {
            remaining = size
            state = .data
        }
    }

    private mutating func nextChunk() {
        size = 0
        digits = 0
        state = .size
    }

    private mutating func countTrailer() throws {
        trailerBytes += 1
        guard trailerBytes <= Self.maxTrailerBytes else { throw BodyFraming.Failure(description: "trailers too large") }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
