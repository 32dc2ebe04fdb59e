/// How a session ended, as the error channel reports it.
public enum ExecStatus: Equatable, Sendable, CustomStringConvertible {
    /// Exit code 0.
    case success
    /// A non-zero exit code (1–255). `detail` is Go's ExitError text: "exit status 3", "signal: killed".
    case exitCode(Int, detail: String)
    /// Anything that is not an exit code: the command could not run, the backend was lost, a timeout.
    /// `reason` is a Kubernetes StatusReason (InternalError, Timeout, NotFound…), `code` an HTTP code.
    case failure(message: String, reason: String, code: Int)

    /// The status of a process that exited with `code`.
    public static func exited(_ code: Int) -> ExecStatus {
        code == 0 ? .success : .exitCode(code & 0xff, detail: "exit status \(code & 0xff)")
    }

    /// The status of a process killed by `signal`: exit code 128+N, as shells report it.
    public static func signaled(_ signal: Int32) -> ExecStatus {
        .exitCode(128 + Int(signal), detail: "signal: \(SignalNames.goName(signal))")
    }

    /// A failure that is not an exit code (Kubernetes' `NewInternalError`).
    public static func internalError(_ message: String) -> ExecStatus {
        .failure(message: message, reason: "InternalError", code: 500)
    }

    public var exitCode: Int? {
        switch self {
        case .success: return 0
        case .exitCode(let code, _): return code
        case .failure: return nil
        }
    }

    /// The error text of v1–v3 and of the Status `message`.
    public var message: String {
        switch self {
        case .success: return ""
        case .exitCode(_, let detail): return "command terminated with non-zero exit code: \(detail)"
        case .failure(let message, let reason, _):
            return reason == "InternalError" ? "Internal error occurred: \(message)" : message
        }
    }

    /// The bytes written on the error channel for `version`: a JSON Status from v4 on (always),
    /// plain text before (only on failure; success writes nothing).
    public func encoded(for version: ChannelVersion) -> [UInt8] {
        if version.hasStatusJSON { return Array(json.utf8) }
        if case .success = self { return [] }
        return Array(message.utf8)
    }

    /// The v4/v5 Status JSON, byte for byte as the kubelet's `v4WriteStatusFunc` writes it
    /// (Go's field order: metadata, status, message, reason, details, code; no trailing newline).
    public var json: String {
        switch self {
        case .success:
            return #"{"metadata":{},"status":"Success"}"#
        case .exitCode(let code, _):
            return #"{"metadata":{},"status":"Failure","message":"# + JSONText.quoted(message)
                + #","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":""#
                + String(code) + #""}]}}"#
        case .failure(let detail, let reason, let code):
            var out = #"{"metadata":{},"status":"Failure","message":"# + JSONText.quoted(message)
                + #","reason":"# + JSONText.quoted(reason)
            if reason == "InternalError" {
                out += #","details":{"causes":[{"message":"# + JSONText.quoted(detail) + "}]}"
            }
            return out + #","code":"# + String(code) + "}"
        }
    }

    public var description: String {
        switch self {
        case .success: return "success"
        case .exitCode(let code, let detail): return "exit code \(code) (\(detail))"
        case .failure(let message, let reason, let code): return "\(reason) \(code): \(message)"
        }
    }
}

/// Signal names as Go's `syscall.Signal.String()` spells them, for exit messages.
public enum SignalNames {
    public static func goName(_ signal: Int32) -> String {
        switch signal {
        case 1: return "hangup"
        case 2: return "interrupt"
        case 3: return "quit"
        case 4: return "illegal instruction"
        case 6: return "aborted"
        case 7: return "bus error"
        case 8: return "floating point exception"
        case 9: return "killed"
        case 11: return "segmentation fault"
        case 13: return "broken pipe"
        case 14: return "alarm clock"
        case 15: return "terminated"
        default: return "signal \(signal)"
        }
    }
}
