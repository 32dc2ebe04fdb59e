import Reactor

/// The files `execbridge serve` rereads on SIGHUP (nil: the option was not given; a reload cannot
/// add one, only reread it).
public struct ReloadableFiles: Sendable, Equatable {
    public var inventory: String?
    public var policy: String?
    public var tokenFile: String?
    public var tlsCert: String?
    public var tlsKey: String?
    public var clientCA: String?
    public var nodeAddresses: String?

    public init() {}

    /// Each configured file with the option that names it, in the order the log shows them.
    var named: [(option: String, path: String)] {
        [("inventory", inventory), ("policy", policy), ("token-file", tokenFile), ("tls-cert", tlsCert),
         ("tls-key", tlsKey), ("client-ca", clientCA), ("node-addresses", nodeAddresses)].compactMap { entry in entry.1.map { (entry.0, $0) } }
    }
}

/// One complete, validated configuration built from `ReloadableFiles`: immutable, handed to every
/// worker as a whole. A session keeps what it was admitted with (its container spec, its
/// connection's TLS context); what it affects is the next connection and the next admission.
struct ConfigSnapshot: Sendable {
    var generation: Int
    /// What was reread: a part whose file is not configured keeps what it was built with.
    var files: ReloadableFiles
    var tls: TLSContext?
    var tokens: TokenTable?
    var tokenSignature: SecurityFiles.Signature?
    var policy: AccessPolicy?
    var inventory: Inventory?
    /// `--node-addresses`, resolved here (off the loops).
    var nodeAddresses: (map: [String: NodeDirectory.Lookup], signature: SecurityFiles.Signature?)?
    /// The inventory's users resolved here, off the workers' loops (a passwd lookup may block).
    var accounts: [String: Result<UserAccount, UserAccount.Unknown>] = [:]
    /// `option: sha256:0123abcd` of every file read, for the log.
    var digests: [(option: String, digest: String)] = []

    /// Reads and validates every file; the first that does not load is the error (with its file
    /// and line, as the parsers word them), and nothing of the new set is used.
    static func load(_ files: ReloadableFiles, generation: Int) throws -> ConfigSnapshot {
        var snapshot = ConfigSnapshot(generation: generation, files: files)
        if let path = files.inventory {
            let inventory = try ConfigurationError.naming("--inventory") { try Inventory.load(path: path) }
            snapshot.inventory = inventory
            snapshot.accounts = UserAccount.resolveAll(Set(inventory.pods.flatMap { $0.containers.compactMap(\.user) }))
        }
        if let path = files.policy {
            snapshot.policy = try ConfigurationError.naming("--policy") { try AccessPolicy.load(path: path) }
        }
        if let path = files.tokenFile {
            snapshot.tokenSignature = SecurityFiles.signature(path)
            snapshot.tokens = try ConfigurationError.naming("--token-file") { try TokenTable.load(path: path) }
        }
        if let cert = files.tlsCert, let key = files.tlsKey {
            snapshot.tls = try ConfigurationError.naming("--tls-cert/--tls-key/--client-ca") {
                try TLSContext(certificate: cert, key: key, clientCA: files.clientCA)
            }
        }
        if let path = files.nodeAddresses {
            snapshot.nodeAddresses = try ConfigurationError.naming("--node-addresses") { try NodeDirectory.read(path: path) }
        }
        snapshot.digests = files.named.map { ($0.option, FileDigest.short(path: $0.path)) }
        return snapshot
    }
}
