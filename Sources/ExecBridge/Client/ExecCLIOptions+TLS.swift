import Reactor

extension ExecCLIOptions {
    /// The client TLS context for an https:// URL (nil for http://), from `--ca`, `--cert`/`--key`
    /// and `--insecure-skip-tls-verify`; ALPN offers only what the chosen protocol speaks (`h2`, or
    /// HTTP/1.1 for the upgrades), so a server cannot pick another generation under us.
    func clientTLS(secure: Bool, h2: Bool) throws -> TLSContext? {
        guard secure else { return nil }
        let alpn = h2 ? ["h2"] : ["http/1.1"]
        do {
            return try TLSContext(clientCA: ca, certificate: certificate, key: key, alpn: alpn,
                                  insecure: insecureSkipTLSVerify)
        } catch {
            throw ExecCLIError.failed("TLS: \(error)")
        }
    }
}
