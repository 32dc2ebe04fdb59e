import ExecModel

/// The static tokens of `--token-file`, in kube-apiserver's `--token-auth-file` format:
/// `token,user,uid,"group1,group2"` per line (at least three columns; the groups column is
/// optional). Records with an empty token are skipped; for a repeated token the last line wins.
public struct TokenTable: Sendable {
    private var entries: [(digest: TokenDigest, identity: Identity)]

    public var count: Int { entries.count }

    /// Parses the file's text. Errors name the line, never its content.
    public init(csv text: String) throws {
        entries = []
        for record in try CSVRecords.parse(text) {
            guard record.fields.count >= 3 else {
                throw CSVRecords.Failure(line: record.line,
                                         problem: "needs at least 3 columns (token, user name, user uid), found \(record.fields.count)")
            }
            let token = record.fields[0]
            guard !token.isEmpty else { continue }
            guard !record.fields[1].isEmpty else {
                throw CSVRecords.Failure(line: record.line, problem: "the user name (column 2) is empty")
            }
            var groups: [String] = []
            if record.fields.count >= 4 {
                groups = record.fields[3].split(separator: ",", omittingEmptySubsequences: true).map(String.init)
            }
            let uid = record.fields[2]
            entries.append((TokenDigest(token), Identity(user: record.fields[1], uid: uid.isEmpty ? nil : uid, groups: groups)))
        }
    }

    public static func load(path: String) throws -> TokenTable {
        let text = try SecurityFiles.readText(path, limit: 16 << 20)
        do {
            return try TokenTable(csv: text)
        } catch let error as CSVRecords.Failure {
            throw SecurityFiles.Failure(description: "token file \(path): \(error)")
        }
    }

    /// The identity of `token`, comparing against every entry (no early exit) so that the time
    /// taken says nothing about which entry, if any, matched.
    func identity(for token: String) -> Identity? {
        let presented = TokenDigest(token)
        var found: Identity?
        for entry in entries {
            if entry.digest.matches(presented) { found = entry.identity }
        }
        return found
    }
}
