import COpenSSL
import Glibc

/// TLS: what the handshake agreed on and who the peer proved to be.
extension Connection {
    /// The protocol the TLS handshake agreed on by ALPN, if any.
    public var negotiatedALPN: String? {
        guard let ssl else { return nil }
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    public var isTLS: Bool { ssl != nil }

    /// The verified peer certificate's subject CN and O values, when TLS verified one.
    public var peerCertificateSubject: (commonName: String?, organizations: [String])? {
        guard let ssl, let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        guard SSL_get_verify_result(ssl) == X509_V_OK else { return nil }
        let name = X509_get_subject_name(cert)
        func values(_ nid: Int32) -> [String] {
            var out: [String] = []
            var index: Int32 = -1
            while true {
                index = X509_NAME_get_index_by_NID(name, nid, index)
                if index < 0 { break }
                guard let entry = X509_NAME_get_entry(name, index),
                      let data = X509_NAME_ENTRY_get_data(entry) else { continue }
                var utf8: UnsafeMutablePointer<UInt8>?
                let n = ASN1_STRING_to_UTF8(&utf8, data)
                if n >= 0, let utf8 {
                    out.append(String(decoding: UnsafeBufferPointer(start: utf8, count: Int(n)), as: UTF8.self))
                    CRYPTO_free(utf8, #file, #line)
                }
            }
            return out
        }
        return (values(NID_commonName).first, values(NID_organizationName))
    }
}

/// A client's view of who it talks to: the certificate must name `name` (checked during the
/// handshake when the context verifies peers). A DNS name also goes out as SNI; an IP literal
/// never does (RFC 6066) and must match an IP subjectAltName instead.
func setPeerName(_ ssl: OpaquePointer?, _ name: String) {
    var v4 = in_addr()
    var v6 = in6_addr()
    if inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1 {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
    } else {
        eb_ssl_set_tlsext_host_name(ssl, name)
        SSL_set1_host(ssl, name)
    }
}
