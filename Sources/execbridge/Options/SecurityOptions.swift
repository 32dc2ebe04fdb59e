import ArgumentParser
import ExecBridge

/// Who may exec.
struct SecurityOptions: ParsableArguments {
    @Option(name: .customLong("client-ca"),
            help: ArgumentHelp("PEM CA bundle: verified TLS client certificates identify callers (user = CN, groups = O). Needs --tls-cert.", valueName: "file"))
    var clientCA: String?

    @Option(name: .customLong("token-file"),
            help: ArgumentHelp("Bearer tokens, kube-apiserver --token-auth-file CSV: token,user,uid,\"group1,group2\" (reloaded when it changes).", valueName: "file"))
    var tokenFile: String?

    @Flag(name: .customLong("allow-anonymous"),
          help: "Accept callers without credentials on non-loopback addresses, or alongside --token-file/--client-ca.")
    var allowAnonymous = false

    @Option(name: .customLong("policy"),
            help: ArgumentHelp("YAML rules: which users/groups may exec into which namespaces/pods/containers, and extra privileged targets.", valueName: "file"))
    var policy: String?

    @Option(name: .customLong("audit-log"), help: ArgumentHelp("Append one JSON line per session and per refusal to FILE (- for stdout).", valueName: "file"))
    var auditLog: String?

    @Option(name: .customLong("audit-redact"),
            help: ArgumentHelp("Regex whose matches (or first capture group) are hidden in audited argv; repeatable; replaces the default (secret=…, tokens, long base64/hex), which the word 'default' includes.", valueName: "regex"))
    var auditRedact: [String] = []

    func settings() -> SecuritySettings {
        var settings = SecuritySettings()
        settings.clientCA = clientCA
        settings.tokenFile = tokenFile
        settings.allowAnonymous = allowAnonymous
        settings.policyFile = policy
        settings.auditLog = auditLog
        settings.auditRedact = auditRedact
        return settings
    }
}
