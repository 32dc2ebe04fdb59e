import ExecModel

/// What a client-side exec session asks for: used by the upstream backend and by the in-repo
/// clients that tests and `execbridge exec` drive.
public struct ExecClientOptions: Sendable {
    /// The `Host` header / `:authority`.
    public var authority: String
    /// Path and query, already encoded (the query carries command and flags).
    public var path: String
    public var method: String = "POST"
    /// Offered channel versions in preference order; empty sends no version header (a 2015 client).
    public var versions: [ChannelVersion] = [.v4, .v3, .v2, .v1]
    public var stdin: Bool
    public var stdout: Bool
    public var stderr: Bool
    public var tty: Bool
    /// Extra request headers (Authorization, Impersonate-User, …).
    public var headers: [(name: String, value: String)] = []

    public init(authority: String, path: String, stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) {
        self.authority = authority
        self.path = path
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr && !tty
        self.tty = tty
    }

    /// Channels to open once `version` is known, in client-go's order.
    public func channels(for version: ChannelVersion) -> [Channel] {
        Channel.creationOrder.filter { channel in
            switch channel {
            case .error: return true
            case .stdin: return stdin
            case .stdout: return stdout
            case .stderr: return stderr
            case .resize: return tty && version.hasResize
            }
        }
    }
}
