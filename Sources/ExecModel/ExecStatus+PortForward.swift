extension ExecStatus {
    /// What a port-forward tunnel's error stream carries for this end: nothing after an orderly
    /// close, else the plain text kubelet writes there ("error forwarding port 9999 to pod …"),
    /// never a JSON Status (clients print the stream as it is).
    public var portForwardErrorText: String? {
        switch self {
        case .success: return nil
        case .exitCode(_, let detail): return detail
        case .failure(let message, _, _): return message
        }
    }

    /// The failure of one tunnel to `port` of `target`'s pod, in kubelet's words.
    public static func portForwardFailure(port: UInt16, target: ExecTarget, _ why: String,
                                          reason: String = "InternalError", code: Int = 500) -> ExecStatus {
        .failure(message: "error forwarding port \(port) to pod \(target.namespace)/\(target.pod): \(why)",
                 reason: reason, code: code)
    }
}
