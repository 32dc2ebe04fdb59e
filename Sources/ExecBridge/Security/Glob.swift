/// A shell-style pattern over Kubernetes names: `*` is any run of characters (also none), `?` one
/// character; everything else stands for itself. Names never contain `*` or `?`, so no escape.
struct Glob: Equatable, Sendable, CustomStringConvertible {
    let pattern: String

    init(_ pattern: String) {
        self.pattern = pattern
    }

    static let any = Glob("*")

    var matchesEverything: Bool { pattern.unicodeScalars.allSatisfy { $0 == "*" } }

    /// Iterative matching with one backtrack point (the last `*`): linear in practice, never
    /// exponential on patterns like `a*a*a*b`.
    func matches(_ name: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let s = Array(name.unicodeScalars)
        var pi = 0, si = 0
        var star = -1, resume = 0
        while si < s.count {
            if pi < p.count, p[pi] == "?" || (p[pi] != "*" && p[pi] == s[si]) {
                pi += 1
                si += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi
                resume = si
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                resume += 1
                si = resume
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    var description: String { pattern }
}

extension Array where Element == Glob {
    func anyMatches(_ name: String) -> Bool { contains { $0.matches(name) } }
}
