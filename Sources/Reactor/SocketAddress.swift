import CLibevent  // sys/socket.h (Glibc alone does not export SOCK_STREAM in release builds)
import Glibc

/// A numeric IPv4 or IPv6 socket address. Host names are resolved once, at configuration time.
public struct SocketAddress: CustomStringConvertible, Sendable {
    public var storage: sockaddr_storage
    public var length: socklen_t

    public enum ParseError: Error, CustomStringConvertible {
        case malformed(String)
        case unresolvable(String)
        case missingPort(String)
        case badPort(String, port: String)
        case unbracketedIPv6(String)
        public var description: String {
            switch self {
            case .malformed(let s): return "malformed address \"\(s)\" (want HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)"
            case .unresolvable(let s): return "cannot resolve \"\(s)\" (want a numeric address or a name this host resolves)"
            case .missingPort(let s): return "\"\(s)\" has no port: want HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"
            case .badPort(let s, let port):
                return "\"\(s)\": port \"\(port)\" is not a number from 0 to 65535 (0 picks a free port)"
            case .unbracketedIPv6(let s): return "\"\(s)\": put an IPv6 address in brackets, e.g. [::1]:8080"
            }
        }
    }

    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// Parses `HOST:PORT`, `[V6]:PORT` or `:PORT` (all interfaces).
    public init(parsing text: String) throws {
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ParseError.malformed(text)
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ParseError.missingPort(text) }
            if text[..<colon].contains(":") { throw ParseError.unbracketedIPv6(text) }
            host = text[..<colon].isEmpty ? "0.0.0.0" : String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard !portText.isEmpty else { throw ParseError.missingPort(text) }
        guard portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber), let port = UInt16(portText) else {
            throw ParseError.badPort(text, port: String(portText))
        }
        try self.init(host: host, port: port)
    }

    public init(host: String, port: UInt16) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            throw ParseError.unresolvable(host)
        }
        defer { freeaddrinfo(result) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        self.init(storage: storage, length: first.pointee.ai_addrlen)
    }

    public var port: UInt16 {
        get {
            withUnsafeBytes(of: storage) { raw in
                // sin_port and sin6_port sit at the same offset.
                UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
            }
        }
        set {
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: newValue.bigEndian, toByteOffset: 2, as: UInt16.self)
            }
        }
    }

    public var isLoopback: Bool {
        withUnsafeBytes(of: storage) { raw in
            let family = raw.load(as: sa_family_t.self)
            if family == sa_family_t(AF_INET) {
                return raw[4] == 127
            } else if family == sa_family_t(AF_INET6) {
                let bytes = Array(raw[8..<24])
                return bytes == [UInt8](repeating: 0, count: 15) + [1]
            }
            return false
        }
    }

    public var host: String {
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var copy = storage
        let rc = withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard rc == 0 else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        let family = withUnsafeBytes(of: storage) { $0.load(as: sa_family_t.self) }
        return family == sa_family_t(AF_INET6) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// The local address a descriptor is bound to.
    public static func local(of fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? SocketAddress(storage: storage, length: length) : nil
    }

    public static func peer(of fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        return rc == 0 ? SocketAddress(storage: storage, length: length) : nil
    }
}
