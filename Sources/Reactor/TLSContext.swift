import COpenSSL
import Glibc

/// An OpenSSL context: the server's (certificate, key, ALPN h2 and http/1.1, optional client CA)
/// or a client's (CA, optional client certificate, ALPN offer).
public final class TLSContext: @unchecked Sendable {
    public enum Role { case server, client }
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    let context: OpaquePointer
    /// ALPN protocols in preference order.
    let alpn: [String]

    /// A server context. `clientCA` asks for (but does not require) client certificates, which
    /// the gateway maps to identities.
    public init(certificate: String, key: String, clientCA: String? = nil,
                alpn: [String] = ["h2", "http/1.1"]) throws {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw Failure(description: "SSL_CTX_new failed") }
        context = ctx
        self.alpn = alpn
        eb_ssl_ctx_set_min_tls12(ctx)
        guard SSL_CTX_use_certificate_chain_file(ctx, certificate) == 1 else {
            throw Failure(description: "cannot load TLS certificate \(certificate): \(TLSContext.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
            throw Failure(description: "cannot load TLS key \(key): \(TLSContext.lastError())")
        }
        if let clientCA {
            guard SSL_CTX_load_verify_locations(ctx, clientCA, nil) == 1 else {
                throw Failure(description: "cannot load client CA \(clientCA): \(TLSContext.lastError())")
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tlsAcceptAnyCallback)
        }
        SSL_CTX_set_alpn_select_cb(ctx, tlsALPNSelectCallback, Unmanaged.passUnretained(self).toOpaque())
    }

    /// A client context. Without `ca`, the system's trust store; `insecure` skips verification.
    public init(clientCA ca: String?, certificate: String? = nil, key: String? = nil,
                alpn: [String] = [], insecure: Bool = false) throws {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw Failure(description: "SSL_CTX_new failed") }
        context = ctx
        self.alpn = alpn
        eb_ssl_ctx_set_min_tls12(ctx)
        if let ca {
            guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else {
                throw Failure(description: "cannot load CA \(ca): \(TLSContext.lastError())")
            }
        } else {
            SSL_CTX_set_default_verify_paths(ctx)
        }
        SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nil)
        if let certificate, let key {
            guard SSL_CTX_use_certificate_chain_file(ctx, certificate) == 1,
                  SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                throw Failure(description: "cannot load client certificate: \(TLSContext.lastError())")
            }
        }
        if !alpn.isEmpty {
            let wire = TLSContext.wireFormat(alpn)
            _ = wire.withUnsafeBufferPointer { SSL_CTX_set_alpn_protos(ctx, $0.baseAddress, UInt32($0.count)) }
        }
    }

    deinit { SSL_CTX_free(context) }

    static func wireFormat(_ protocols: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for p in protocols {
            out.append(UInt8(p.utf8.count))
            out.append(contentsOf: p.utf8)
        }
        return out
    }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    fileprivate func select(_ offered: UnsafeBufferPointer<UInt8>) -> (Int, Int)? {
        for wanted in alpn {
            var i = 0
            while i < offered.count {
                let len = Int(offered[i])
                let start = i + 1
                guard start + len <= offered.count else { break }
                if len == wanted.utf8.count, Array(offered[start..<start + len]) == Array(wanted.utf8) {
                    return (start, len)
                }
                i = start + len
            }
        }
        return nil
    }
}

/// Verification failures are not fatal at the handshake: the gateway looks at the verify result
/// and treats an unverified certificate as no identity, so it can answer 401 over HTTP.
private func tlsAcceptAnyCallback(_ ok: Int32, _ store: OpaquePointer?) -> Int32 { 1 }

private func tlsALPNSelectCallback(_ ssl: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
                                   _ outlen: UnsafeMutablePointer<UInt8>?, _ input: UnsafePointer<UInt8>?,
                                   _ inlen: UInt32, _ arg: UnsafeMutableRawPointer?) -> Int32 {
    let ctx = Unmanaged<TLSContext>.fromOpaque(arg!).takeUnretainedValue()
    guard let input else { return SSL_TLSEXT_ERR_NOACK }
    let offered = UnsafeBufferPointer(start: input, count: Int(inlen))
    guard let (start, len) = ctx.select(offered) else { return SSL_TLSEXT_ERR_NOACK }
    out?.pointee = input + start
    outlen?.pointee = UInt8(len)
    return SSL_TLSEXT_ERR_OK
}
