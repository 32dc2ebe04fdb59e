import ExecModel

/// Answers the read-only requests kubectl makes before an exec: the server version, the legacy
/// discovery documents, and pods (one, or a list). Everything else falls through (404 from the
/// front door). Only GET and HEAD are served; other methods get a 405 Status.
///
/// Discovery is admitted as exec is (the pipeline identifies the caller first, `guards`), and
/// shows a caller only the pods and containers it may exec into.
final class DiscoveryHandler: PlainHandler {
    private var catalog: PodCatalog
    /// May this caller exec into this target (the pipeline's authorizer)?
    private let visible: (Identity?, ExecTarget) -> Bool

    init(catalog: PodCatalog, visible: @escaping (Identity?, ExecTarget) -> Bool = { _, _ in true }) {
        self.catalog = catalog
        self.visible = visible
    }

    func guards(_ request: PlainRequest) -> Bool {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        return document(for: segments, request: request) != nil
    }

    /// The pod with only the containers this caller may exec into; nil when none is left.
    private func shown(_ pod: PodCatalog.Pod, to identity: Identity?) -> PodCatalog.Pod? {
        var pod = pod
        pod.containers = pod.containers.filter { container in
            visible(identity, ExecTarget(node: pod.node, namespace: pod.namespace, pod: pod.name, container: container.name))
        }
        return pod.containers.isEmpty ? nil : pod
    }

    func answer(_ request: PlainRequest) -> PlainResponse? {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let document = document(for: segments, request: request) else { return nil }
        guard request.method == "GET" || request.method == "HEAD" else {
            return .status(RequestError(code: 405, reason: "MethodNotAllowed",
                                        message: "the server does not allow this method on the requested resource",
                                        headers: [.init("Allow", "GET, HEAD")]))
        }
        return document()
    }

    /// The answer for a discovery path, built only once the method is known to be allowed.
    private func document(for segments: [String], request: PlainRequest) -> (() -> PlainResponse)? {
        switch segments.count {
        case 1 where segments[0] == "version":
            return { .json(200, DiscoveryDocuments.version) }
        case 1 where segments[0] == "api":
            let address = request.context.authority ?? ""
            return { .json(200, DiscoveryDocuments.apiVersions(serverAddress: address)) }
        case 1 where segments[0] == "apis":
            return { .json(200, DiscoveryDocuments.apiGroupList) }
        case 2 where segments == ["api", "v1"]:
            return { .json(200, DiscoveryDocuments.coreV1Resources) }
        case 3 where segments == ["api", "v1", "pods"]:
            return { [self] in
                .json(200, PodDocument.list(catalog.pods(namespace: nil).compactMap { shown($0, to: request.identity) },
                                            started: catalog.started))
            }
        case 5 where segments[0...2] == ["api", "v1", "namespaces"] && segments[4] == "pods":
            let namespace = segments[3]
            return { [self] in
                .json(200, PodDocument.list(catalog.pods(namespace: namespace).compactMap { shown($0, to: request.identity) },
                                            started: catalog.started))
            }
        case 6 where segments[0...2] == ["api", "v1", "namespaces"] && segments[4] == "pods":
            let (namespace, name) = (segments[3], segments[5])
            return { [self] in
                // A pod the caller may not exec into is not found, as one that does not exist.
                guard let pod = catalog.pod(namespace: namespace, name: name).flatMap({ shown($0, to: request.identity) }) else {
                    return PlainResponse(status: 404, contentType: "application/json",
                                         body: Array(PodDocument.notFound(name).utf8))
                }
                return .json(200, PodDocument.pod(pod, started: catalog.started))
            }
        default:
            return nil
        }
    }
}

extension DiscoveryHandler: InventoryFollower {
    /// Discovery shows the reloaded inventory (pods, containers) from the next request on.
    func follow(_ inventory: Inventory?) {
        catalog = PodCatalog(inventory: inventory, started: catalog.started)
    }
}
