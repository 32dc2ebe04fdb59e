import ExecModel
import Yams

/// Reads the inventory YAML into `PodSpec`s, naming the entry and line of anything wrong.
/// Unknown keys are errors: a misspelt `workdir` silently ignored would run commands in the wrong place.
struct InventoryParser {
    let source: String

    func parse(_ yaml: String) throws -> [PodSpec] {
        let root: Node?
        if YAMLNesting.exceedsLimit(yaml) {
            throw InventoryError(source: source, entry: "", line: nil,
                                 problem: "not valid YAML: nested deeper than \(YAMLNesting.limit) levels")
        }
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw InventoryError(source: source, entry: "", line: Self.line(of: error),
                                 problem: "not valid YAML: \(Self.problem(of: error))")
        } catch {
            throw InventoryError(source: source, entry: "", line: nil, problem: "not valid YAML: \(error)")
        }
        guard let root, !isNull(root) else {
            throw failure("", root, "the document is empty; expected a mapping with a \"pods\" list")
        }
        let top = try mapping(root, at: "", keys: ["pods"])
        guard let podsNode = top["pods"], !isNull(podsNode) else {
            throw failure("", root, "missing key \"pods\"")
        }
        guard case .sequence(let podNodes) = podsNode else {
            throw failure("pods", podsNode, "must be a list of pods")
        }
        var pods: [PodSpec] = []
        for (index, podNode) in podNodes.enumerated() {
            let pod = try parsePod(podNode, at: "pods[\(index)]")
            if let earlier = pods.firstIndex(where: { sameIdentity($0, pod) }) {
                throw failure("pods[\(index)]", podNode,
                              "duplicate of pods[\(earlier)] (\(pod.namespace)/\(pod.name)\(pod.node.map { " on \($0)" } ?? ""))")
            }
            pods.append(pod)
        }
        return pods
    }

    private func sameIdentity(_ a: PodSpec, _ b: PodSpec) -> Bool {
        a.namespace == b.namespace && a.name == b.name && a.node == b.node
    }

    private func parsePod(_ node: Node, at entry: String) throws -> PodSpec {
        let fields = try mapping(node, at: entry, keys: ["node", "namespace", "name", "containers", "ports"])
        let nodeName = try optionalString(fields["node"], at: entry + ".node")
        if let nodeName, let problem = KubernetesNames.dns1123SubdomainErrors(nodeName).first {
            throw failure(entry + ".node", fields["node"], "invalid node name \"\(nodeName)\": \(problem)")
        }
        let namespace = try requiredString(fields["namespace"], key: "namespace", in: node, at: entry)
        if let problem = KubernetesNames.dns1123SubdomainErrors(namespace).first {
            throw failure(entry + ".namespace", fields["namespace"], "invalid namespace \"\(namespace)\": \(problem)")
        }
        let name = try requiredString(fields["name"], key: "name", in: node, at: entry)
        if let problem = KubernetesNames.dns1123SubdomainErrors(name).first {
            throw failure(entry + ".name", fields["name"], "invalid pod name \"\(name)\": \(problem)")
        }
        guard let containersNode = fields["containers"], !isNull(containersNode) else {
            throw failure(entry, node, "missing key \"containers\"")
        }
        guard case .sequence(let containerNodes) = containersNode, containerNodes.count > 0 else {
            throw failure(entry + ".containers", containersNode, "must be a non-empty list of containers")
        }
        var containers: [ContainerSpec] = []
        for (index, containerNode) in containerNodes.enumerated() {
            let at = "\(entry).containers[\(index)]"
            let container = try parseContainer(containerNode, at: at)
            if containers.contains(where: { $0.name == container.name }) {
                throw failure(at + ".name", containerNode, "duplicate container name \"\(container.name)\"")
            }
            containers.append(container)
        }
        var pod = PodSpec(node: nodeName, namespace: namespace, name: name, containers: containers)
        pod.ports = try ports(fields["ports"], at: entry + ".ports")
        return pod
    }

    private func parseContainer(_ node: Node, at entry: String) throws -> ContainerSpec {
        let fields = try mapping(node, at: entry, keys: ["name", "workingDir", "env", "user", "privileged", "ports"])
        let name = try requiredString(fields["name"], key: "name", in: node, at: entry)
        if let problem = KubernetesNames.dns1123LabelErrors(name).first {
            throw failure(entry + ".name", fields["name"], "invalid container name \"\(name)\": \(problem)")
        }
        let workingDir = try optionalString(fields["workingDir"], at: entry + ".workingDir")
        if let workingDir, !workingDir.hasPrefix("/") {
            throw failure(entry + ".workingDir", fields["workingDir"], "must be an absolute path, not \"\(workingDir)\"")
        }
        var env: [String: String] = [:]
        if let envNode = fields["env"], !isNull(envNode) {
            guard case .mapping(let pairs) = envNode else {
                throw failure(entry + ".env", envNode, "must be a mapping of variable names to values")
            }
            for (keyNode, valueNode) in pairs {
                guard case .scalar(let key) = keyNode, !key.string.isEmpty,
                      !key.string.contains("="), !key.string.contains("\0") else {
                    throw failure(entry + ".env", keyNode, "variable names must be non-empty strings without \"=\"")
                }
                guard case .scalar(let value) = valueNode, !value.string.contains("\0") else {
                    throw failure(entry + ".env." + key.string, valueNode, "must be a plain value")
                }
                env[key.string] = isNull(valueNode) ? "" : value.string
            }
        }
        let user = try optionalString(fields["user"], at: entry + ".user")
        if let user, user.isEmpty || user.contains("\0") {
            throw failure(entry + ".user", fields["user"], "must be a user name or uid")
        }
        var privileged = false
        if let flag = fields["privileged"], !isNull(flag) {
            guard let value = flag.bool else {
                throw failure(entry + ".privileged", flag, "must be true or false")
            }
            privileged = value
        }
        var container = ContainerSpec(name: name, workingDir: workingDir, env: env, user: user, privileged: privileged)
        container.ports = try ports(fields["ports"], at: entry + ".ports")
        return container
    }

    // MARK: - Node helpers

    /// The node as a string-keyed mapping, refusing keys outside `keys` and repeated keys.
    private func mapping(_ node: Node, at entry: String, keys: Set<String>) throws -> [String: Node] {
        guard case .mapping(let pairs) = node else {
            throw failure(entry, node, "must be a mapping with keys \(keys.sorted().joined(separator: ", "))")
        }
        var fields: [String: Node] = [:]
        for (keyNode, value) in pairs {
            guard case .scalar(let key) = keyNode else {
                throw failure(entry, keyNode, "keys must be plain strings")
            }
            guard keys.contains(key.string) else {
                throw failure(entry, keyNode,
                              "unknown key \"\(key.string)\" (expected one of: \(keys.sorted().joined(separator: ", ")))")
            }
            guard fields[key.string] == nil else {
                throw failure(entry, keyNode, "key \"\(key.string)\" appears twice")
            }
            fields[key.string] = value
        }
        return fields
    }

    private func requiredString(_ node: Node?, key: String, in parent: Node, at entry: String) throws -> String {
        guard let value = try optionalString(node, at: entry + "." + key) else {
            throw failure(entry, parent, "missing key \"\(key)\"")
        }
        return value
    }

    private func optionalString(_ node: Node?, at entry: String) throws -> String? {
        guard let node, !isNull(node) else { return nil }
        guard case .scalar(let scalar) = node else {
            throw failure(entry, node, "must be a plain value, not a list or mapping")
        }
        return scalar.string
    }

    func isNull(_ node: Node) -> Bool {
        // YAML's null spellings, only when unquoted (`""` is an empty string).
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func failure(_ entry: String, _ node: Node?, _ problem: String) -> InventoryError {
        InventoryError(source: source, entry: entry, line: node?.mark?.line, problem: problem)
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            return (context.map { "\($0.text) " } ?? "") + problem
        default:
            return "\(error)"
        }
    }
}
