import COpenSSL
import Foundation
import Glibc
import XCTest

/// HTTP/2 frames built by hand, byte by byte, for tests that send what no well-behaved client
/// would (frames for dead streams, lower stream ids, window overflows), and the frames the gateway
/// answers, read back off the wire.
struct H2Frame: Equatable, CustomStringConvertible {
    static let data: UInt8 = 0, headers: UInt8 = 1, priority: UInt8 = 2, rstStream: UInt8 = 3, settings: UInt8 = 4
    static let ping: UInt8 = 6, goAway: UInt8 = 7, windowUpdate: UInt8 = 8
    static let endStream: UInt8 = 0x1, ack: UInt8 = 0x1, endHeaders: UInt8 = 0x4

    var type: UInt8
    var flags: UInt8
    var stream: UInt32
    var payload: [UInt8]

    var bytes: [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags] + be32(stream) + payload
    }

    /// RST_STREAM's code, or GOAWAY's.
    var errorCode: UInt32? {
        switch type {
        case H2Frame.rstStream where payload.count >= 4: return u32(payload, 0)
        case H2Frame.goAway where payload.count >= 8: return u32(payload, 4)
        default: return nil
        }
    }

    var description: String { "type \(type) flags \(flags) stream \(stream) length \(payload.count) code \(errorCode.map(String.init) ?? "-")" }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func settings(_ entries: [(UInt16, UInt32)] = []) -> H2Frame {
        H2Frame(type: settings, flags: 0, stream: 0,
                payload: entries.flatMap { [UInt8($0.0 >> 8), UInt8($0.0 & 0xff)] + be32($0.1) })
    }

    static let settingsAck = H2Frame(type: settings, flags: ack, stream: 0, payload: [])

    /// HEADERS with a literal (never indexed, no Huffman) header block: every field spelled out.
    static func headers(_ stream: UInt32, _ fields: [(String, String)], endStream: Bool) -> H2Frame {
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0x10)
            block += hpackString(name)
            block += hpackString(value)
        }
        return H2Frame(type: headers, flags: endHeaders | (endStream ? H2Frame.endStream : 0), stream: stream, payload: block)
    }

    static func request(_ stream: UInt32, method: String = "GET", path: String, endStream: Bool,
                        extra: [(String, String)] = []) -> H2Frame {
        headers(stream, [(":method", method), (":scheme", "http"), (":authority", "gw"), (":path", path)] + extra,
                endStream: endStream)
    }

    static func rst(_ stream: UInt32, code: UInt32 = 8) -> H2Frame {
        H2Frame(type: rstStream, flags: 0, stream: stream, payload: be32(code))
    }

    static func priority(_ stream: UInt32) -> H2Frame {
        H2Frame(type: priority, flags: 0, stream: stream, payload: be32(0) + [15])
    }

    static func windowUpdate(_ stream: UInt32, _ increment: UInt32) -> H2Frame {
        H2Frame(type: windowUpdate, flags: 0, stream: stream, payload: be32(increment))
    }

    static func data(_ stream: UInt32, _ bytes: [UInt8], endStream: Bool = false) -> H2Frame {
        H2Frame(type: data, flags: endStream ? H2Frame.endStream : 0, stream: stream, payload: bytes)
    }

    static func goAway(last: UInt32 = 0, code: UInt32 = 0) -> H2Frame {
        H2Frame(type: goAway, flags: 0, stream: 0, payload: be32(last) + be32(code))
    }

    static func ping(_ opaque: [UInt8] = Array("h2-test!".utf8), ack: Bool = false) -> H2Frame {
        H2Frame(type: ping, flags: ack ? H2Frame.ack : 0, stream: 0, payload: opaque)
    }

    private static func hpackString(_ s: String) -> [UInt8] {
        let bytes = Array(s.utf8)
        return hpackInteger(bytes.count, prefixBits: 7) + bytes
    }

    private static func hpackInteger(_ value: Int, prefixBits: Int) -> [UInt8] {
        let limit = (1 << prefixBits) - 1
        guard value >= limit else { return [UInt8(value)] }
        var out = [UInt8(limit)]
        var rest = value - limit
        while rest >= 128 {
            out.append(UInt8(rest & 0x7f | 0x80))
            rest >>= 7
        }
        out.append(UInt8(rest))
        return out
    }
}

private func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
private func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}

/// One blocking connection to the gateway (plain or TLS with ALPN h2) that writes raw bytes and
/// reads frames. Reads give up after the socket's receive timeout.
final class H2RawConnection {
    private let socket: RawSocket
    private var ssl: OpaquePointer?
    private var ctx: OpaquePointer?
    private var buffer: [UInt8] = []
    /// EOF (or an error) was read: the gateway closed the connection.
    private(set) var closed = false

    init(port: UInt16, tls: Bool = false, timeout: Double = 10) throws {
        socket = try RawSocket(port: port, timeout: timeout)
        guard tls else { return }
        ctx = SSL_CTX_new(TLS_client_method())
        var alpn: [UInt8] = [2] + Array("h2".utf8)
        SSL_CTX_set_alpn_protos(ctx, &alpn, UInt32(alpn.count))
        ssl = SSL_new(ctx)
        SSL_set_fd(ssl, socket.fd)
        guard SSL_connect(ssl) == 1 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit {
        if let ssl { SSL_free(ssl) }
        if let ctx { SSL_CTX_free(ctx) }
    }

    func send(_ bytes: [UInt8]) {
        guard let ssl else { return socket.send(bytes) }
        _ = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
    }

    /// All frames in one write: the gateway reads them in one buffer.
    func send(_ frames: [H2Frame], preface: Bool = false) {
        send((preface ? H2Frame.preface : []) + frames.flatMap(\.bytes))
    }

    private func fill() -> Bool {
        guard !closed else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        var n: Int
        repeat {
            // The gateway runs in this process: its children's SIGCHLD can interrupt the read.
            errno = 0
            n = ssl.map { ssl in chunk.withUnsafeMutableBytes { Int(SSL_read(ssl, $0.baseAddress, Int32($0.count))) } }
                ?? recv(socket.fd, &chunk, chunk.count, 0)
        } while n < 0 && errno == EINTR
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { closed = true }
        guard n > 0 else { return false }
        buffer += chunk[0..<n]
        return true
    }

    /// Raw bytes up to and including `delimiter` (an HTTP/1.1 head before an h2c upgrade).
    func readUntil(_ delimiter: String) -> String? {
        let d = Array(delimiter.utf8)
        while true {
            if let r = buffer.firstRange(of: d) {
                let text = String(decoding: buffer[..<r.upperBound], as: UTF8.self)
                buffer.removeFirst(r.upperBound)
                return text
            }
            guard fill() else { return nil }
        }
    }

    /// The next frame, or nil at EOF or timeout.
    func readFrame() -> H2Frame? {
        while true {
            if buffer.count >= 9 {
                let n = Int(buffer[0]) << 16 | Int(buffer[1]) << 8 | Int(buffer[2])
                if buffer.count >= 9 + n {
                    let frame = H2Frame(type: buffer[3], flags: buffer[4], stream: u32(buffer, 5) & 0x7fff_ffff,
                                        payload: Array(buffer[9..<9 + n]))
                    buffer.removeFirst(9 + n)
                    return frame
                }
            }
            guard fill() else { return nil }
        }
    }

    /// Frames until one matches (included), EOF or timeout. PINGs are answered as a client must.
    @discardableResult
    func read(until match: (H2Frame) -> Bool, answerPings: Bool = true) -> (frames: [H2Frame], matched: H2Frame?) {
        var frames: [H2Frame] = []
        while let frame = readFrame() {
            frames.append(frame)
            if answerPings, frame.type == H2Frame.ping, frame.flags & H2Frame.ack == 0 {
                send([H2Frame.ping(frame.payload, ack: true)])
            }
            if match(frame) { return (frames, frame) }
        }
        return (frames, nil)
    }

    /// True when the gateway closed the connection (EOF) before the timeout; frames on the way are read.
    func readUntilClosed() -> [H2Frame] {
        var frames: [H2Frame] = []
        while let frame = readFrame() { frames.append(frame) }
        return frames
    }
}
