import ArgumentParser
import ExecBridge

/// Where `execbridge serve` listens, and with which TLS identity.
struct ListenOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Address to listen on (repeatable); port 0 picks a free one. (default: 127.0.0.1:8080)", valueName: "host:port"))
    var listen: [String] = []

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Event loop threads, one listener each (SO_REUSEPORT). (default: number of cores)", valueName: "n"))
    var threads: Int?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp(
        "PEM certificate chain: serve TLS (ALPN h2, http/1.1); reloaded on SIGHUP. (default: cleartext)", valueName: "file"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key for --tls-cert; reloaded on SIGHUP.", valueName: "file"))
    var tlsKey: String?

    var addresses: [String] { listen.isEmpty ? ["127.0.0.1:8080"] : listen }

    func validate() throws {
        for text in listen {
            do { try ServeOptions.checkListenAddress(text) } catch { throw ValidationError("--listen \(text): \(error)") }
        }
        if let threads, threads < 1 || threads > 256 {
            throw ValidationError("--threads must be from 1 to 256 (got \(threads)); leave it out for one per core")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together: give both, or neither for cleartext")
        }
    }
}
