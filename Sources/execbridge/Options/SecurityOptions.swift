import ArgumentParser
import ExecBridge

/// Who may exec.
struct SecurityOptions: ParsableArguments {
    @Option(name: .customLong("client-ca"),
            help: ArgumentHelp("PEM CA bundle: verified TLS client certificates identify callers (user = CN, groups = O). Needs --tls-cert; reloaded on SIGHUP.", valueName: "file"))
    var clientCA: String?

    @Option(name: .customLong("token-file"),
            help: ArgumentHelp("Bearer tokens, kube-apiserver --token-auth-file CSV: token,user,uid,\"group1,group2\" (reloaded when it changes, and on SIGHUP).", valueName: "file"))
    var tokenFile: String?

    @Flag(name: .customLong("allow-anonymous"),
          help: "Accept callers without credentials on non-loopback addresses, or alongside --token-file/--client-ca.")
    var allowAnonymous = false

    @Option(name: .customLong("policy"),
            help: ArgumentHelp("YAML rules: which users/groups may exec into which namespaces/pods/containers, and extra privileged targets; reloaded on SIGHUP.", valueName: "file"))
    var policy: String?

    @Option(name: .customLong("audit-log"), help: ArgumentHelp("Append one JSON line per session and per refusal to FILE (- for stdout).", valueName: "file"))
    var auditLog: String?

    @Option(name: .customLong("audit-redact"),
            help: ArgumentHelp("Regex whose matches (or first capture group) are hidden in audited argv; repeatable; replaces the default (secret=…, tokens, long base64/hex), which the word 'default' includes.", valueName: "regex"))
    var auditRedact: [String] = []

    @Option(name: .customLong("allow-origin"),
            help: ArgumentHelp("A web page origin (scheme://host[:port], e.g. a web terminal) allowed to drive exec, attach and discovery; repeatable. Other browser-sent requests (foreign Origin, cross-site Sec-Fetch-*) are refused with 403.", valueName: "origin"))
    var allowOrigin: [String] = []

    @Option(name: .customLong("allow-host"),
            help: ArgumentHelp("A Host name accepted besides loopback names (127.0.0.0/8, ::1, localhost) while anonymous callers are accepted (DNS rebinding defense); repeatable.", valueName: "name"))
    var allowHost: [String] = []

    @Flag(name: .customLong("passthrough-forward-authorization"),
          help: "Forward the client's Authorization header on passed-through requests (dropped by default).")
    var passthroughForwardAuthorization = false

    func settings() -> SecuritySettings {
        var settings = SecuritySettings()
        settings.clientCA = clientCA
        settings.tokenFile = tokenFile
        settings.allowAnonymous = allowAnonymous
        settings.policyFile = policy
        settings.auditLog = auditLog
        settings.auditRedact = auditRedact
        settings.allowOrigins = allowOrigin
        settings.allowHosts = allowHost
        settings.passthroughForwardAuthorization = passthroughForwardAuthorization
        return settings
    }
}
