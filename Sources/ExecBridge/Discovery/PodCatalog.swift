import ExecModel

/// The pods discovery shows: the inventory's, or — without an inventory, where the local backend
/// accepts any target — every validly named pod, with one container called `app`
/// (`PodCatalog.defaultContainer`). kubectl execs into the container it read from the pod unless
/// `-c` names another, and without an inventory any name is accepted.
struct PodCatalog {
    static let defaultContainer = "app"

    struct Pod {
        var namespace: String
        var name: String
        var node: String?
        var containers: [ContainerSpec]
    }

    let inventory: Inventory?
    /// RFC 3339 creation and start time of every pod.
    let started: String

    /// The pod, or nil (404) when the inventory has none of that name, or the name is invalid.
    func pod(namespace: String, name: String) -> Pod? {
        guard KubernetesNames.dns1123SubdomainErrors(namespace).isEmpty,
              KubernetesNames.dns1123SubdomainErrors(name).isEmpty else { return nil }
        guard let inventory else {
            return Pod(namespace: namespace, name: name, node: nil,
                       containers: [ContainerSpec(name: Self.defaultContainer)])
        }
        // The same pod may be listed per node; discovery shows the first.
        return inventory.pods.first { $0.namespace == namespace && $0.name == name }.map(Self.pod)
    }

    /// Pods of one namespace (nil: all namespaces). Without an inventory the list is empty: the
    /// set of pods is unbounded.
    func pods(namespace: String?) -> [Pod] {
        guard let inventory else { return [] }
        var seen = Set<String>()
        return inventory.pods.filter { spec in
            guard namespace == nil || spec.namespace == namespace else { return false }
            return seen.insert(spec.namespace + "/" + spec.name).inserted
        }.map(Self.pod)
    }

    private static func pod(_ spec: PodSpec) -> Pod {
        Pod(namespace: spec.namespace, name: spec.name, node: spec.node, containers: spec.containers)
    }
}
