import ExecModel

/// Who may exec where (`--policy FILE`):
///
/// ```yaml
/// rules:
///   - users: [alice]          # and/or
///     groups: [developers]
///     namespaces: ["team-*"]  # globs; "*" when absent
///     pods: ["*"]
///     containers: ["*"]
///     nodes: ["pool-a-*"]     # node-addressed backends; absent: any node, and requests naming none
/// privileged:                 # extra privileged targets, for upstream backends
///   - {namespace: kube-system, pod: "*", container: "*"}
/// ```
///
/// A rule applies to a caller named in `users` or belonging to one of `groups`; the request is
/// allowed when one applicable rule's globs all match the target. Users and groups are exact names.
/// A rule with `nodes:` covers only requests that name a matching node (`/api/v1/nodes/{node}/proxy/…`):
/// a request without a node matches only rules without `nodes:`.
public struct AccessPolicy: Equatable, Sendable {
    public struct Rule: Equatable, Sendable {
        var users: [String]
        var groups: [String]
        var namespaces: [Glob]
        var pods: [Glob]
        var containers: [Glob]
        /// Nil: the rule has no `nodes:` and does not look at the node.
        var nodes: [Glob]? = nil

        func applies(to identity: Identity) -> Bool {
            users.contains(identity.user) || identity.groups.contains { groups.contains($0) }
        }

        /// A target without a container name (the apiserver form may omit it) matches only a rule
        /// that allows every container: which one runs is not known here.
        func covers(_ target: ExecTarget) -> Bool {
            guard namespaces.anyMatches(target.namespace), pods.anyMatches(target.pod) else { return false }
            if let nodes {
                guard let node = target.node, nodes.anyMatches(node) else { return false }
            }
            guard let container = target.container else { return containers.contains { $0.matchesEverything } }
            return containers.anyMatches(container)
        }
    }

    /// A target named privileged by the policy (upstream targets have no inventory to say so).
    public struct PrivilegedTarget: Equatable, Sendable {
        var namespace: Glob
        var pod: Glob
        var container: Glob

        /// Without a container name, any container of a matching pod might be meant: privileged.
        func covers(_ target: ExecTarget) -> Bool {
            namespace.matches(target.namespace) && pod.matches(target.pod)
                && (target.container.map { container.matches($0) } ?? true)
        }
    }

    var rules: [Rule]
    var privileged: [PrivilegedTarget]

    init(rules: [Rule], privileged: [PrivilegedTarget]) {
        self.rules = rules
        self.privileged = privileged
    }

    /// Parses the YAML text; `source` names it in errors.
    public init(yaml: String, source: String = "<text>") throws {
        self = try PolicyParser(source: source).parse(yaml)
    }

    /// Reads and parses `path`.
    public static func load(path: String) throws -> AccessPolicy {
        try AccessPolicy(yaml: try SecurityFiles.readText(path, limit: 4 << 20), source: path)
    }

    func allows(_ identity: Identity, _ target: ExecTarget) -> Bool {
        rules.contains { $0.applies(to: identity) && $0.covers(target) }
    }

    func namesPrivileged(_ target: ExecTarget) -> Bool {
        privileged.contains { $0.covers(target) }
    }
}

/// A policy file that cannot be used, with the place of the problem.
public struct PolicyError: Error, Equatable, CustomStringConvertible {
    public var source: String
    public var entry: String
    public var line: Int?
    public var problem: String

    public var description: String {
        var place = source
        if let line { place += ":\(line)" }
        if !entry.isEmpty { place += " (\(entry))" }
        return "policy \(place): \(problem)"
    }
}
