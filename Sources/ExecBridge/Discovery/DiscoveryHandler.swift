import ExecModel

/// Answers the read-only requests kubectl makes before an exec: the server version, the legacy
/// discovery documents, and pods (one, or a list). Everything else falls through (404 from the
/// front door). Only GET and HEAD are served; other methods get a 405 Status.
final class DiscoveryHandler: PlainHandler {
    private let catalog: PodCatalog

    init(catalog: PodCatalog) {
        self.catalog = catalog
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
            let address = request.context.header("host") ?? ""
            return { .json(200, DiscoveryDocuments.apiVersions(serverAddress: address)) }
        case 1 where segments[0] == "apis":
            return { .json(200, DiscoveryDocuments.apiGroupList) }
        case 2 where segments == ["api", "v1"]:
            return { .json(200, DiscoveryDocuments.coreV1Resources) }
        case 3 where segments == ["api", "v1", "pods"]:
            return { [catalog] in .json(200, PodDocument.list(catalog.pods(namespace: nil), started: catalog.started)) }
        case 5 where segments[0...2] == ["api", "v1", "namespaces"] && segments[4] == "pods":
            let namespace = segments[3]
            return { [catalog] in
                .json(200, PodDocument.list(catalog.pods(namespace: namespace), started: catalog.started))
            }
        case 6 where segments[0...2] == ["api", "v1", "namespaces"] && segments[4] == "pods":
            let (namespace, name) = (segments[3], segments[5])
            return { [catalog] in
                guard let pod = catalog.pod(namespace: namespace, name: name) else {
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
