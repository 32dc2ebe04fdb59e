/// Hides secrets in the argv (and failure messages) of audit records. Each pattern's matches are
/// replaced by `[REDACTED]`; a pattern with a capture group replaces only the first group, so
/// `password=(\S+)` keeps the key and hides the value.
///
/// `--audit-redact REGEX` (repeatable) replaces the default; the word `default` stands for it, so
/// `--audit-redact default --audit-redact 'sk-\w+'` adds to it. The default hides values of
/// secret-named keys (`password=…`, `token: …`, `api-key=…`), `Bearer …`, JWTs, and long
/// base64/base64url/hex runs (see `SecretShapes`).
struct AuditRedactor {
    static let marker = "[REDACTED]"
    static let defaultName = "default"
    static let defaultPatterns = [
        #"(?i)(?:password|passwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credentials?|authorization)[a-z0-9_.-]*\s*[=:]\s*(?:(?:bearer|basic)\s+)?([^\s&;,'"]+)"#,
        // Environment assignments: MYSQL_PWD=…, *_SECRET=…, *_TOKEN=…, *_PASSWORD=…, *_PASS=…
        #"(?i)\b(?:[a-z0-9_]*_)?(?:pwd|secret|token|password|pass)\s*=\s*([^\s&;,'"]+)"#,
        // A secret-named flag and its value inside one string (`sh -c "curl --token X"`).
        #"(?i)(?:^|\s)--?"# + SecretFlagPairs.flagNamePattern + #"\s+([^\s'"]+)"#,
        // `user:password@host` in a URL (mysql://u:pw@h, https://u:pw@h/x).
        #"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]*:([^\s/]+)@"#,
        // mysql's `-pPASSWORD` and `-p PASSWORD` inside one string.
        #"\b(?i:mysql[a-z]*|mariadb[a-z-]*)\b[^|;&\n]*?\s-p\s*([^\s'"-][^\s'"]*)"#,
        #"(?i)\bbearer\s+([^\s'"]+)"#,
        #"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"#,
    ]

    private let patterns: [Regex<AnyRegexOutput>]
    /// The default rules are in use: long secret-shaped runs and flag/value pairs split over argv
    /// elements are hidden too.
    private let shapes: Bool

    /// Throws for a pattern that does not compile (said at startup, with the pattern).
    init(patterns given: [String]) throws {
        var sources: [String] = []
        var shapes = given.isEmpty
        for pattern in given {
            if pattern == Self.defaultName {
                sources += Self.defaultPatterns
                shapes = true
            } else {
                sources.append(pattern)
            }
        }
        if given.isEmpty { sources = Self.defaultPatterns }
        var compiled: [Regex<AnyRegexOutput>] = []
        for source in sources {
            guard !source.isEmpty else { throw SecurityFiles.Failure(description: "--audit-redact: an empty pattern would match everywhere") }
            do {
                compiled.append(try Regex(source))
            } catch {
                throw SecurityFiles.Failure(description: "--audit-redact \(source): not a valid regular expression: \(error)")
            }
        }
        self.patterns = compiled
        self.shapes = shapes
    }

    /// A command line: each element redacted alone, then (with the default rules) the value that
    /// follows a secret-named flag in the next element (`--password hunter2`, mysql's `-p X`).
    func redact(argv: [String]) -> [String] {
        let alone = argv.map(redact)
        return shapes ? SecretFlagPairs.redact(argv: alone, marker: Self.marker) : alone
    }

    func redact(_ text: String) -> String {
        var text = text
        for pattern in patterns {
            var out = ""
            var last = text.startIndex
            for match in text.matches(of: pattern) {
                var range = match.range
                if match.output.count > 1, let group = match.output[1].range { range = group }
                guard range.lowerBound >= last, !range.isEmpty else { continue }
                out += text[last..<range.lowerBound]
                out += Self.marker
                last = range.upperBound
            }
            if last != text.startIndex {
                out += text[last...]
                text = out
            }
        }
        return shapes ? SecretShapes.redact(text, marker: Self.marker) : text
    }
}

/// Long runs that look like keys or tokens rather than words or paths: at least 32 characters of
/// the base64/base64url alphabet (optionally `=`-padded) that are all hex digits, or mix digits,
/// upper- and lowercase letters, do not start with `/` or `-` (paths, options) and have few
/// separators (`+/-_`: at most one in eight, as random base64 has).
enum SecretShapes {
    static let minimumLength = 32

    static func redact(_ text: String, marker: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard isAlphabet(scalars[i]) else {
                out.append(scalars[i])
                i += 1
                continue
            }
            var end = i
            while end < scalars.count, isAlphabet(scalars[end]) { end += 1 }
            var padded = end
            while padded < scalars.count, scalars[padded] == "=" { padded += 1 }
            let run = scalars[i..<end]
            if looksSecret(run) {
                out.append(contentsOf: marker.unicodeScalars)
                i = padded
            } else {
                out.append(contentsOf: run)
                i = end
            }
        }
        return String(out)
    }

    private static func isAlphabet(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "A"..."Z", "a"..."z", "0"..."9", "+", "/", "-", "_": return true
        default: return false
        }
    }

    static func looksSecret(_ run: ArraySlice<Unicode.Scalar>) -> Bool {
        guard run.count >= minimumLength else { return false }
        if run.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) || ("A"..."F").contains($0) }) {
            return true
        }
        guard let first = run.first, first != "/", first != "-" else { return false }
        var digit = false, upper = false, lower = false, separators = 0
        for c in run {
            switch c {
            case "0"..."9": digit = true
            case "A"..."Z": upper = true
            case "a"..."z": lower = true
            default: separators += 1
            }
        }
        return digit && upper && lower && separators * 8 <= run.count
    }
}
