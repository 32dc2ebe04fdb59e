import Yams

/// Reads the policy YAML. Unknown keys are errors: a misspelt `namespace:` silently ignored would
/// widen a rule to every namespace.
struct PolicyParser {
    let source: String

    func parse(_ yaml: String) throws -> AccessPolicy {
        let root: Node?
        if YAMLNesting.exceedsLimit(yaml) {
            throw PolicyError(source: source, entry: "", line: nil,
                              problem: "not valid YAML: nested deeper than \(YAMLNesting.limit) levels")
        }
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw PolicyError(source: source, entry: "", line: nil, problem: "not valid YAML: \(error)")
        }
        guard let root, !isNull(root) else {
            throw failure("", root, "the document is empty; expected a mapping with \"rules\" and/or \"privileged\"")
        }
        let top = try mapping(root, at: "", keys: ["rules", "privileged"])
        var rules: [AccessPolicy.Rule] = []
        for (index, node) in try list(top["rules"], at: "rules").enumerated() {
            rules.append(try parseRule(node, at: "rules[\(index)]"))
        }
        var privileged: [AccessPolicy.PrivilegedTarget] = []
        for (index, node) in try list(top["privileged"], at: "privileged").enumerated() {
            let at = "privileged[\(index)]"
            let fields = try mapping(node, at: at, keys: ["namespace", "pod", "container"])
            privileged.append(AccessPolicy.PrivilegedTarget(
                namespace: Glob(try string(fields["namespace"], at: at + ".namespace") ?? "*"),
                pod: Glob(try string(fields["pod"], at: at + ".pod") ?? "*"),
                container: Glob(try string(fields["container"], at: at + ".container") ?? "*")))
        }
        return AccessPolicy(rules: rules, privileged: privileged)
    }

    private func parseRule(_ node: Node, at entry: String) throws -> AccessPolicy.Rule {
        let fields = try mapping(node, at: entry, keys: ["users", "groups", "namespaces", "pods", "containers", "nodes"])
        let users = try strings(fields["users"], at: entry + ".users")
        let groups = try strings(fields["groups"], at: entry + ".groups")
        if users.isEmpty && groups.isEmpty {
            throw failure(entry, node, "a rule needs \"users\" or \"groups\" (groups: [system:authenticated] names every signed-in caller)")
        }
        func globs(_ key: String) throws -> [Glob] {
            let values = try strings(fields[key], at: entry + "." + key)
            if fields[key] != nil, !isNull(fields[key]!), values.isEmpty {
                throw failure(entry + "." + key, fields[key], "an empty list matches nothing; leave the key out for \"*\"")
            }
            return values.isEmpty ? [.any] : values.map(Glob.init)
        }
        var rule = AccessPolicy.Rule(users: users, groups: groups, namespaces: try globs("namespaces"),
                                     pods: try globs("pods"), containers: try globs("containers"))
        if let nodes = fields["nodes"], !isNull(nodes) { rule.nodes = try globs("nodes") }
        return rule
    }

    // MARK: - Node helpers

    private func mapping(_ node: Node, at entry: String, keys: Set<String>) throws -> [String: Node] {
        guard case .mapping(let pairs) = node else {
            throw failure(entry, node, "must be a mapping with keys \(keys.sorted().joined(separator: ", "))")
        }
        var fields: [String: Node] = [:]
        for (keyNode, value) in pairs {
            guard case .scalar(let key) = keyNode else { throw failure(entry, keyNode, "keys must be plain strings") }
            guard keys.contains(key.string) else {
                throw failure(entry, keyNode,
                              "unknown key \"\(key.string)\" (expected one of: \(keys.sorted().joined(separator: ", ")))")
            }
            guard fields[key.string] == nil else { throw failure(entry, keyNode, "key \"\(key.string)\" appears twice") }
            fields[key.string] = value
        }
        return fields
    }

    private func list(_ node: Node?, at entry: String) throws -> [Node] {
        guard let node, !isNull(node) else { return [] }
        guard case .sequence(let items) = node else { throw failure(entry, node, "must be a list") }
        return Array(items)
    }

    /// A list of non-empty strings; a single scalar is taken as a list of one.
    private func strings(_ node: Node?, at entry: String) throws -> [String] {
        guard let node, !isNull(node) else { return [] }
        let items: [Node]
        if case .scalar = node { items = [node] } else { items = try list(node, at: entry) }
        return try items.enumerated().map { index, item in
            guard let value = try string(item, at: "\(entry)[\(index)]"), !value.isEmpty else {
                throw failure("\(entry)[\(index)]", item, "must be a non-empty name")
            }
            return value
        }
    }

    private func string(_ node: Node?, at entry: String) throws -> String? {
        guard let node, !isNull(node) else { return nil }
        guard case .scalar(let scalar) = node else { throw failure(entry, node, "must be a plain value, not a list or mapping") }
        return scalar.string
    }

    private func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private func failure(_ entry: String, _ node: Node?, _ problem: String) -> PolicyError {
        PolicyError(source: source, entry: entry, line: node?.mark?.line, problem: problem)
    }
}
