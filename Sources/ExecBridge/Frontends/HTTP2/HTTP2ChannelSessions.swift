/// The channel-stream sessions of one HTTP/2 connection (spec §5 items 3 and 8): streams that carry
/// the same `exec-session` token belong to one session; streams without the header belong to the
/// connection's one unnamed session, as before multiplexing.
struct HTTP2ChannelSessions {
    /// Tokens of completed sessions remembered, so that a late channel stream of one is refused at
    /// once instead of opening a new session that waits for the creation timeout. Bounded: the
    /// oldest is forgotten first.
    static let completedMemory = 1024

    private var named: [String: HTTP2ExecSession] = [:]
    /// The session of the streams without `exec-session`. It stays once set: a connection carries
    /// one such session for good (item 3), so its late streams are refused, never a second session.
    private(set) var unnamed: HTTP2ExecSession?
    private var completed: Set<String> = []
    private var completedOrder: [String] = []
    private var oldestCompleted = 0

    /// `exec-session`: 1–64 visible ASCII characters (no space, no control byte).
    static func isValidToken(_ token: String) -> Bool {
        let bytes = token.utf8
        return (1...64).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// The open session the token (or, without one, the unnamed slot) names.
    func session(named token: String?) -> HTTP2ExecSession? {
        guard let token else { return unnamed }
        return named[token]
    }

    /// The token names a session of this connection that already completed.
    func isCompleted(_ token: String) -> Bool {
        completed.contains(token)
    }

    mutating func add(_ session: HTTP2ExecSession, token: String?) {
        if let token { named[token] = session } else { unnamed = session }
    }

    /// The session ended: its token now refuses further streams.
    mutating func ended(token: String) {
        guard named.removeValue(forKey: token) != nil else { return }
        remember(token)
    }

    /// The stream that would have opened the session was refused (routing, admission, version):
    /// the session's other channel streams, which a client may send without waiting for that
    /// answer, are refused at once instead of being admitted (and audited) each as a session.
    mutating func refused(token: String) {
        guard named[token] == nil else { return }
        remember(token)
    }

    private mutating func remember(_ token: String) {
        guard !completed.contains(token) else { return }
        completed.insert(token)
        if completedOrder.count < Self.completedMemory {
            completedOrder.append(token)
        } else {
            completed.remove(completedOrder[oldestCompleted])
            completedOrder[oldestCompleted] = token
            oldestCompleted = (oldestCompleted + 1) % Self.completedMemory
        }
    }
}
