import COpenSSL

/// Tokens are kept and compared as SHA-256 digests: every comparison takes the same time whatever
/// the presented token shares with a real one, and the table never holds a token in clear.
struct TokenDigest: Sendable {
    private let bytes: [UInt8]

    init(_ token: String) {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        var input = Array(token.utf8)
        let ok = input.withUnsafeMutableBytes { raw in
            out.withUnsafeMutableBufferPointer { EVP_Digest(raw.baseAddress, raw.count, $0.baseAddress, &length, EVP_sha256(), nil) }
        }
        // EVP_Digest with SHA-256 does not fail short of memory exhaustion; an all-zero digest then
        // still compares unequal to every real token's.
        bytes = ok == 1 ? Array(out.prefix(Int(length))) : [UInt8](repeating: 0, count: 32)
        for i in input.indices { input[i] = 0 }
    }

    /// Constant time in the content (both digests are 32 bytes).
    func matches(_ other: TokenDigest) -> Bool {
        guard bytes.count == other.bytes.count else { return false }
        return bytes.withUnsafeBytes { a in
            other.bytes.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
        }
    }
}
