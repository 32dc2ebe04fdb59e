extension ExecStatus {
    private static let exitPrefix = "command terminated with non-zero exit code: "
    private static let internalPrefix = "Internal error occurred: "

    /// Reads what a peer wrote on the error channel (the inverse of `encoded(for:)`, so that
    /// `decode(s.encoded(for: v), version: v) == s` for every status ExecBridge writes).
    /// v4+: a JSON Status, read as client-go's v4 decoder does. v1–v3: plain text, empty = success.
    /// An exit code is kept exact where the text carries one, even on v1–v3 (client-go loses it there).
    public static func decode(_ bytes: [UInt8], version: ChannelVersion) -> ExecStatus {
        version.hasStatusJSON ? decodeStatusJSON(bytes) : decodeText(String(decoding: bytes, as: UTF8.self))
    }

    private static func decodeStatusJSON(_ bytes: [UInt8]) -> ExecStatus {
        guard let status = try? JSONValue.parse(bytes), case .object = status else {
            let text = String(decoding: bytes.prefix(1024), as: UTF8.self)
            return .internalError("unparseable status: \(text)")
        }
        let message = status["message"]?.stringValue ?? ""
        switch status["status"]?.stringValue {
        case "Success":
            return .success
        case "Failure":
            break
        default:
            return .internalError("error stream protocol error: unknown error")
        }
        let reason = status["reason"]?.stringValue ?? ""
        if reason == "NonZeroExitCode" {
            let causes = status["details"]?["causes"]?.arrayValue ?? []
            guard let cause = causes.first(where: { $0["reason"]?.stringValue == "ExitCode" }) else {
                return .internalError("error stream protocol error: no ExitCode cause given")
            }
            // client-go parses the cause as an unsigned 8-bit integer (tools/remotecommand/v4.go).
            let text = cause["message"]?.stringValue ?? ""
            guard let code = UInt8(text) else {
                return .internalError("error stream protocol error: invalid exit code value \"\(text)\"")
            }
            if code == 0 { return .success }
            let detail = stripping(exitPrefix, from: message)
            return .exitCode(Int(code), detail: detail)
        }
        let code = status["code"]?.numberValue.flatMap { Int(exactly: $0) } ?? 500
        if reason == "InternalError" {
            return .failure(message: stripping(internalPrefix, from: message), reason: reason, code: code)
        }
        return .failure(message: message, reason: reason, code: code)
    }

    private static func decodeText(_ text: String) -> ExecStatus {
        if text.isEmpty { return .success }
        if let detail = text.afterBytes(exitPrefix) {
            if let code = exitCode(fromDetail: detail) { return .exitCode(code, detail: detail) }
        }
        return .internalError(stripping(internalPrefix, from: text))
    }

    /// Go's ExitError texts: `exit status N`, or `signal: NAME` for a killed process (reported as 128+N).
    private static func exitCode(fromDetail detail: String) -> Int? {
        if let number = detail.afterBytes("exit status "), let code = Int(number),
           (1...255).contains(code) {
            return code
        }
        if let name = detail.afterBytes("signal: ") {
            if let signal = (1...64).first(where: { SignalNames.goName(Int32($0)) == name }) { return 128 + signal }
        }
        return nil
    }

    private static func stripping(_ prefix: String, from text: String) -> String {
        text.afterBytes(prefix) ?? text
    }
}

extension String {
    /// The rest after `prefix`, compared byte for byte as Go's strings.HasPrefix does. String's own
    /// hasPrefix compares whole characters: a combining mark right after the prefix joins its last
    /// character, the prefix no longer matches, and a decoded status gained a second prefix.
    func afterBytes(_ prefix: String) -> String? {
        guard utf8.starts(with: prefix.utf8) else { return nil }
        return String(decoding: utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    }
}
