import COpenSSL

/// SHA-1 and base64 from OpenSSL, for the handshake only (a few dozen bytes per connection).
enum HandshakeCrypto {
    static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha1(), nil)
        }
        // EVP_Digest with SHA-1 only fails if OpenSSL itself is broken (no memory, no provider).
        precondition(ok == 1, "OpenSSL SHA-1 failed")
        return Array(digest[..<Int(length)])
    }

    static func base64(_ bytes: [UInt8]) -> String {
        var output = [UInt8](repeating: 0, count: (bytes.count + 2) / 3 * 4 + 1)
        let written = bytes.withUnsafeBufferPointer { input in
            EVP_EncodeBlock(&output, input.baseAddress, Int32(input.count))
        }
        return String(decoding: output[..<Int(max(0, written))], as: UTF8.self)
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = generator.next() }
        return bytes
    }
}
