import ExecModel
import Synchronization

/// Gateway-wide session admission: `--max-sessions` (503) and `--max-sessions-per-user` (429).
/// Sessions of one gateway live on different loop threads, so the counts are shared; admission
/// happens once per session, before any upgrade, never on the data path.
public final class SessionLimits: Sendable {
    /// nil: no limit.
    public let maxSessions: Int?
    public let maxSessionsPerUser: Int?
    /// Seconds a refused client is told to wait (`Retry-After`).
    public let retryAfter: Int
    private let total = Atomic<Int>(0)
    private let perUser = Mutex<[String: Int]>([:])

    public init(maxSessions: Int? = nil, maxSessionsPerUser: Int? = nil, retryAfter: Int = 1) {
        self.maxSessions = maxSessions
        self.maxSessionsPerUser = maxSessionsPerUser
        self.retryAfter = retryAfter
    }

    /// Sessions admitted and not yet released.
    public var activeSessions: Int { total.load(ordering: .relaxed) }

    /// True while no further session would be admitted (`/readyz` answers 503).
    public var atSessionLimit: Bool {
        guard let maxSessions else { return false }
        return total.load(ordering: .relaxed) >= maxSessions
    }

    /// Takes a place for one session of `user`, or says why not. The place is held by `slot`
    /// until the session ends or the slot is released (or freed: a session that never started).
    func admit(user: String, into slot: AdmissionSlot) -> RequestError? {
        guard maxSessions != nil || maxSessionsPerUser != nil else { return nil }
        if let maxSessions {
            let now = total.add(1, ordering: .relaxed).newValue
            if now > maxSessions {
                total.subtract(1, ordering: .relaxed)
                return refusal(code: 503, reason: "ServiceUnavailable",
                               message: "the gateway is at its session limit (\(maxSessions)); retry later")
            }
        } else {
            total.add(1, ordering: .relaxed)
        }
        let admitted = perUser.withLock { counts -> Bool in
            let current = counts[user, default: 0]
            if let limit = maxSessionsPerUser, current >= limit { return false }
            counts[user] = current + 1
            return true
        }
        guard admitted else {
            total.subtract(1, ordering: .relaxed)
            return refusal(code: 429, reason: "TooManyRequests",
                           message: "user \(user) has \(maxSessionsPerUser ?? 0) sessions already (the limit per user); retry later")
        }
        slot.hold { [self] in self.release(user: user) }
        return nil
    }

    fileprivate func release(user: String) {
        total.subtract(1, ordering: .relaxed)
        perUser.withLock { counts in
            let left = counts[user, default: 1] - 1
            counts[user] = left > 0 ? left : nil
        }
    }

    private func refusal(code: Int, reason: String, message: String) -> RequestError {
        RequestError(code: code, reason: reason, message: message,
                     headers: [RequestError.HeaderLine("Retry-After", String(retryAfter))])
    }
}
