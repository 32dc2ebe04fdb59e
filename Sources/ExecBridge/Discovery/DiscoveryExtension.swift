import Glibc

/// Installs the Kubernetes discovery answers (`/version`, `/api`, `/apis`, `/api/v1`, pods) on every
/// worker whose backend is the embedded one, so that an unmodified kubectl can find a pod before it
/// execs into it. Workers with an upstream backend get nothing: there the upstream answers these
/// requests itself (passthrough).
struct DiscoveryExtension: PipelineExtension {
    /// The pods' creation and start time: the gateway's start, so that `kubectl get` shows a stable age.
    let started: String

    init(started: time_t = time(nil)) {
        self.started = DiscoveryExtension.rfc3339(started)
    }

    func install(into pipeline: RequestPipeline) {
        guard pipeline.backend.answersDiscovery else { return }
        let catalog = PodCatalog(inventory: pipeline.backend.inventory, started: started)
        let handler = DiscoveryHandler(catalog: catalog) { [unowned pipeline] identity, target in
            pipeline.mayExec(identity, target)
        }
        pipeline.plainHandlers.append(handler)
    }

    /// `2024-05-01T12:00:00Z`, as Kubernetes writes metav1.Time.
    static func rfc3339(_ seconds: time_t) -> String {
        var t = seconds
        var parts = tm()
        gmtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension GatewayConfig {
    /// Kubernetes discovery for kubectl, on the workers whose backend is the local one.
    public mutating func serveDiscovery() {
        pipelineExtensions.append(DiscoveryExtension())
    }
}
