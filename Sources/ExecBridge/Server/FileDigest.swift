import COpenSSL
import Glibc

/// `sha256:` and the first 12 hex digits of a file's SHA-256: enough to tell in the log which
/// version of a file a reload loaded, without printing a secret (a token file's content).
enum FileDigest {
    static func short(path: String) -> String {
        guard let bytes = try? SecurityFiles.readBytes(path, limit: 64 << 20) else { return "unreadable" }
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        bytes.withUnsafeBufferPointer { _ = SHA256($0.baseAddress, $0.count, &digest) }
        return "sha256:" + digest.prefix(6).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }
}
