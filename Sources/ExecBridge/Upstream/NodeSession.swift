import ExecModel
import Reactor

/// A session of a `{node}` backend: the upstream session for the request's node, once the node's
/// address is known. A node still being resolved by DNS holds the client's first events (bounded:
/// `pendingBytes` counts them, so the bridge pauses the client at its budget) until the lookup
/// answers; a node that turned out not to exist ends the session with the 404 Status.
final class NodeSession: SessionEndpoint, SessionEndpointDelegate {
    private let request: ExecRequest
    private weak var backend: UpstreamBackend?
    private let loop: EventLoop
    private weak var delegate: SessionEndpointDelegate?
    private var inner: SessionEndpoint?
    private var held: [(channel: Channel?, bytes: [UInt8], event: SessionEvent?)] = []
    private var heldBytes = 0
    private var reading = true
    private var ended = false
    private var timer: LoopTimer?

    init(request: ExecRequest, backend: UpstreamBackend, loop: EventLoop, delegate: SessionEndpointDelegate) {
        self.request = request
        self.backend = backend
        self.loop = loop
        self.delegate = delegate
        let node = request.target.node ?? ""
        guard let nodes = backend.config.nodes else { return }
        let lookup = nodes.lookup(node)
        if case .found(let endpoint) = lookup {
            // The upstream session dials on the next turn itself.
            inner = backend.makeSession(request, on: loop, config: backend.config.addressed(to: endpoint), delegate: self)
        } else if lookup == .pending {
            // Called on this loop (the directory posts it here), so the unchecked box is never shared.
            let box = UncheckedBox(Weak(self))
            nodes.whenResolved(node, on: loop) { lookup in box.value.object?.resolved(lookup) }
        } else {
            // The bridge learns its backend from this init's caller: events come on the next turn.
            timer = LoopTimer(loop: loop, after: 0) { [weak self] in self?.resolved(lookup) }
        }
    }

    private func resolved(_ lookup: NodeDirectory.Lookup) {
        guard !ended, let backend else { return }
        let node = request.target.node ?? ""
        guard case .found(let endpoint) = lookup else {
            ended = true
            let error = UpstreamBackend.refusal(lookup, node: node) ?? .notFound("nodes \"\(node)\" not found")
            delegate?.endpoint(self, emitted: .exit(.failure(message: error.message, reason: error.reason, code: error.code)))
            return
        }
        let session = backend.makeSession(request, on: loop, config: backend.config.addressed(to: endpoint), delegate: self)
        inner = session
        if !reading { session.setReading(false) }
        let queued = held
        held = []
        heldBytes = 0
        for item in queued {
            if let channel = item.channel {
                item.bytes.withUnsafeBytes { session.receive(.data(channel, $0)) }
            } else if let event = item.event {
                session.receive(event)
            }
        }
        if !queued.isEmpty { delegate?.endpointDidDrain(self) }
    }

    // MARK: From the bridge

    func receive(_ event: SessionEvent) {
        guard !ended else { return }
        if let inner { return inner.receive(event) }
        if case .data(let channel, let payload) = event {
            // Borrowed: copied while the node is being resolved.
            held.append((channel, Array(payload), nil))
            heldBytes += payload.count
        } else {
            held.append((nil, [], event))
        }
    }

    var pendingBytes: Int { inner?.pendingBytes ?? heldBytes }

    func setReading(_ on: Bool) {
        reading = on
        inner?.setReading(on)
    }

    func terminate(_ reason: EndReason) {
        ended = true
        timer?.cancel()
        held = []
        inner?.terminate(reason)
    }

    // MARK: From the upstream session

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        delegate?.endpoint(self, emitted: event)
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {
        delegate?.endpointDidDrain(self)
    }

    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        delegate?.endpoint(self, didEnd: reason)
    }
}

/// A weak reference to hand through a `@Sendable` closure that runs on the owner's loop.
private final class Weak<T: AnyObject> {
    weak var object: T?
    init(_ object: T) { self.object = object }
}
