import ExecModel

/// `/ui/`: the web terminal's files (GET and HEAD only) and its JSON. The files are public and
/// carry nothing of the caller; the JSON (`/ui/api/…`) is admitted as discovery is — screened
/// for browser provenance, the caller identified by `Authorization: Bearer` (or a client
/// certificate), never by a cookie — and audited, answered or refused.
final class UIHandler: PlainHandler {
    static let prefix = "/ui"

    private let assets: UIAssets
    private let xterm: Result<XtermBundle, ConfigurationError>
    private let recordings: RecordingLibrary?
    private var catalog: PodCatalog
    private unowned let pipeline: RequestPipeline

    init(assets: UIAssets, xterm: Result<XtermBundle, ConfigurationError>, recordings: RecordingLibrary?,
         pipeline: RequestPipeline) {
        self.assets = assets
        self.xterm = xterm
        self.recordings = recordings
        self.pipeline = pipeline
        catalog = PodCatalog(inventory: pipeline.backend.inventory, started: "")
    }

    func answer(_ request: PlainRequest) -> PlainResponse? {
        guard request.path == Self.prefix || request.path.hasPrefix(Self.prefix + "/") else { return nil }
        guard request.method == "GET" || request.method == "HEAD" else {
            return UIResponses.status(RequestError(code: 405, reason: "MethodNotAllowed",
                                                   message: "the web terminal is read with GET",
                                                   headers: [.init("Allow", "GET, HEAD")]))
        }
        if request.path == Self.prefix {
            var moved = UIResponses.file(308, contentType: "text/plain; charset=utf-8", body: Array("/ui/\n".utf8))
            moved.headers.append(("Location", "/ui/"))
            return moved
        }
        let rest = String(request.path.dropFirst(Self.prefix.count + 1))
        if rest.hasPrefix("api/") { return api(request, name: String(rest.dropFirst(4))) }
        switch (rest, xterm) {
        case ("", .failure(let error)), ("index.html", .failure(let error)):
            return UIResponses.unavailablePage(error.description)
        case ("", _):
            return served("index.html")
        case ("vendor/xterm.js", .success(let bundle)):
            return UIResponses.file(200, contentType: "text/javascript; charset=utf-8", body: bundle.script)
        case ("vendor/xterm.css", .success(let bundle)):
            return UIResponses.file(200, contentType: "text/css; charset=utf-8", body: bundle.stylesheet)
        default:
            return served(rest) ?? UIResponses.status(.notFound("the server could not find the requested resource"))
        }
    }

    private func served(_ name: String) -> PlainResponse? {
        assets.files[name].map { UIResponses.file(200, contentType: $0.contentType, body: $0.body) }
    }

    // MARK: JSON

    private func api(_ request: PlainRequest, name: String) -> PlainResponse {
        let identity: Identity
        switch pipeline.identify(request.context, screened: true) {
        case .failure(let error):
            pipeline.report(.ui, identity: nil, context: request.context, error: error)
            return UIResponses.status(error)
        case .success(let known):
            identity = known ?? .anonymous
        }
        let response = apiAnswer(name, identity: identity)
        for observer in pipeline.observers {
            observer.observed(RequestEvent(kind: .ui, identity: identity, context: request.context, request: nil,
                                           outcome: .answered(status: response.status, bytes: response.body.count)))
        }
        return response
    }

    private func apiAnswer(_ name: String, identity: Identity) -> PlainResponse {
        switch name {
        case "session":
            return UIResponses.json(200, UIDocuments.session(identity, recordings: recordings != nil,
                                                             inventory: catalog.inventory != nil))
        case "pods":
            return UIResponses.json(200, UIDocuments.pods(visiblePods(identity), inventory: catalog.inventory != nil))
        case "recordings":
            guard let recordings else { return UIResponses.status(Self.recordingsOff) }
            return UIResponses.json(200, UIDocuments.recordings(recordings.list(for: identity.user)))
        case _ where name.hasPrefix("recordings/"):
            guard let recordings else { return UIResponses.status(Self.recordingsOff) }
            let id = String(name.dropFirst("recordings/".count))
            switch recordings.read(id, for: identity.user) {
            case .found(let bytes):
                return UIResponses.data(contentType: "application/x-asciicast", body: bytes)
            case .notFound:
                // Another user's recording is not found, as one that does not exist.
                return UIResponses.status(.notFound("recording \"\(id.count > 100 ? String(id.prefix(100)) : id)\" not found"))
            case .tooLarge(let size):
                return UIResponses.status(RequestError(
                    code: 413, reason: "RequestEntityTooLarge",
                    message: "the recording has \(size) bytes; the player takes at most \(RecordingLibrary.maxServedBytes) (replay it with asciinema play)"))
            }
        default:
            return UIResponses.status(.notFound("the server could not find the requested resource"))
        }
    }

    private static let recordingsOff = RequestError.notFound("sessions are not recorded (--record-dir is not set)")

    /// The pods and containers this caller may exec into (discovery's rule), at most `maxPods`.
    private func visiblePods(_ identity: Identity) -> [PodCatalog.Pod] {
        var shown: [PodCatalog.Pod] = []
        for var pod in catalog.pods(namespace: nil) where shown.count < UIDocuments.maxPods {
            pod.containers = pod.containers.filter { container in
                pipeline.mayExec(identity, ExecTarget(node: pod.node, namespace: pod.namespace, pod: pod.name,
                                                      container: container.name))
            }
            if !pod.containers.isEmpty { shown.append(pod) }
        }
        return shown
    }
}

extension UIHandler: InventoryFollower {
    func follow(_ inventory: Inventory?) {
        catalog = PodCatalog(inventory: inventory, started: "")
    }
}
