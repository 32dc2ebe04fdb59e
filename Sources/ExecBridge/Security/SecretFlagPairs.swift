/// Secret values given as the argv element after their flag: `--password hunter2`, `--token X`,
/// `--secret X`, `--api-key X`, and mysql's `-p X` / `-pX` (only for the mysql and mariadb
/// clients, anywhere after their name, so `sudo mysql -p X` counts: for most other programs `-p`
/// is a port or a path, not worth hiding).
enum SecretFlagPairs {
    /// Flag names (after `-` or `--`) whose value is a secret; also used by the single-string
    /// default pattern in `AuditRedactor`.
    static let flagNamePattern = #"(?:password|passwd|pass|pwd|secret|client[-_]?secret|token|auth[-_]?token|access[-_]?token|api[-_]?key|access[-_]?key|secret[-_]?key|private[-_]?key)"#

    /// The same names, lowercase with `-` for `_` (what `isSecretFlag` compares against).
    static let flagNames: Set<String> = [
        "password", "passwd", "pass", "pwd", "secret", "client-secret", "clientsecret", "token", "auth-token", "authtoken",
        "access-token", "accesstoken", "api-key", "apikey", "access-key", "accesskey", "secret-key", "secretkey",
        "private-key", "privatekey",
    ]

    static func isSecretFlag(_ element: String) -> Bool {
        var name = Substring(element)
        guard name.hasPrefix("-") else { return false }
        name = name.dropFirst()
        if name.hasPrefix("-") { name = name.dropFirst() }
        return flagNames.contains(String(name.lowercased().map { $0 == "_" ? "-" : $0 }))
    }

    static func redact(argv: [String], marker: String) -> [String] {
        var out = argv
        var mysql = false
        var index = 0
        while index < out.count {
            let element = out[index]
            if isMySQLClient(element) { mysql = true }
            if index + 1 < out.count, isSecretFlag(element) || (mysql && element == "-p") {
                out[index + 1] = marker
                index += 2
                continue
            }
            if mysql, element.hasPrefix("-p"), element.count > 2, !element.hasPrefix("-p=") {
                out[index] = "-p" + marker
            }
            index += 1
        }
        return out
    }

    private static func isMySQLClient(_ element: String) -> Bool {
        let name = element.split(separator: "/").last.map(String.init) ?? element
        return name.hasPrefix("mysql") || name.hasPrefix("mariadb")
    }
}
