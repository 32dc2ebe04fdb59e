import ExecModel
import Reactor

/// One `attach` client's end toward a main process: a `SessionEndpoint` on the client's loop that
/// talks to the process on the hub's owner loop by messages only (`MainProcessHub`).
///
/// Output arrives as owned chunks, is handed to the bridge while it reads and queued while it is
/// paused; each chunk is acknowledged once handed on, which is what bounds the queue (the owner
/// detaches an attacher too far behind). Input goes out `stdinWindow` bytes at a time; the rest is
/// held here and counted in `pendingBytes`, so the bridge pauses the client. Detaching (the client
/// leaves) never touches the process.
final class AttachSession: SessionEndpoint {
    let request: ExecRequest
    let loop: EventLoop
    weak var delegate: SessionEndpointDelegate?
    private let hub: MainProcessHub
    private let key: String
    private let id: Int
    /// The client's input reaches the process only if both ask for stdin (kubelet ignores it otherwise).
    private let forwardsStdin: Bool
    private let counter: LocalProcessSession.SessionCounter?

    private enum Item {
        case data(Channel, [UInt8])
        case finish(ExecStatus)
    }
    private var queue: [Item] = []
    private var queueHead = 0
    private var reading = true
    private var finished = false
    private var released = false

    private var inputInFlight = 0
    private var heldInput: [[UInt8]] = []
    private var heldBytes = 0
    private var inputEnded = false
    private var inputEndSent = false

    init(request: ExecRequest, spec: MainProcessSpec, key: String, hub: MainProcessHub, loop: EventLoop,
         delegate: SessionEndpointDelegate?, counter: LocalProcessSession.SessionCounter?) {
        self.request = request
        self.loop = loop
        self.delegate = delegate
        self.hub = hub
        self.key = key
        self.id = hub.makeAttacherID()
        self.forwardsStdin = request.stdin && spec.stdin
        self.counter = counter
        counter?.value.add(1, ordering: .relaxed)
        // A tty process writes only to its terminal (stdout); stderr then stays empty.
        let link = AttacherLink(id: id, loop: loop, session: AttacherBox(value: self), target: request.target,
                                stdout: request.stdout, stderr: request.stderr && !spec.tty)
        hub.join(link, key: key)
    }

    deinit { release() }

    // MARK: - SessionEndpoint

    func receive(_ event: SessionEvent) {
        loop.preconditionInEventLoop()
        guard !finished else { return }
        switch event {
        case .data(.stdin, let bytes):
            guard forwardsStdin, !inputEnded, bytes.count > 0 else { return }
            if inputInFlight < MainProcessHub.stdinWindow && heldInput.isEmpty {
                inputInFlight += bytes.count
                hub.input([UInt8](bytes), from: id, key: key)
            } else {
                heldInput.append([UInt8](bytes))
                heldBytes += bytes.count
            }
        case .halfClose(.stdin):
            guard forwardsStdin, !inputEnded else { return }
            inputEnded = true
            sendHeldInput()
        case .resize(let size):
            guard size.width >= 1, size.height >= 1 else { return }
            hub.resize(size, from: id, key: key)
        default:
            break
        }
    }

    var pendingBytes: Int { inputInFlight + heldBytes }
    var stallsMeanAStuckPeer: Bool { false }

    func setReading(_ on: Bool) {
        reading = on
        if on { flush() }
    }

    /// The client left: only this attacher goes; the process runs on.
    func terminate(_ reason: EndReason) {
        guard !finished else { return }
        finished = true
        delegate = nil
        queue = []
        queueHead = 0
        heldInput = []
        hub.leave(id, key: key)
        release()
    }

    // MARK: - From the owner loop

    func deliver(_ channel: Channel, _ bytes: [UInt8]) {
        guard !finished else { return }
        queue.append(.data(channel, bytes))
        flush()
    }

    func finish(_ status: ExecStatus) {
        guard !finished else { return }
        queue.append(.finish(status))
        flush()
    }

    func acknowledgeInput(_ count: Int) {
        guard !finished else { return }
        inputInFlight -= count
        sendHeldInput()
        delegate?.endpointDidDrain(self)
    }

    // MARK: - Moving on

    private func flush() {
        while reading, !finished, queueHead < queue.count {
            let item = queue[queueHead]
            queueHead += 1
            switch item {
            case .data(let channel, let bytes):
                bytes.withUnsafeBytes { delegate?.endpoint(self, emitted: .data(channel, $0)) }
                hub.acknowledgeOutput(bytes.count, from: id, key: key)
            case .finish(let status):
                end(status)
            }
        }
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        }
    }

    private func end(_ status: ExecStatus) {
        finished = true
        heldInput = []
        if request.stdout { delegate?.endpoint(self, emitted: .halfClose(.stdout)) }
        if request.stderr { delegate?.endpoint(self, emitted: .halfClose(.stderr)) }
        delegate?.endpoint(self, emitted: .exit(status))
        delegate = nil
        release()
    }

    private func sendHeldInput() {
        while inputInFlight < MainProcessHub.stdinWindow, !heldInput.isEmpty {
            let chunk = heldInput.removeFirst()
            heldBytes -= chunk.count
            inputInFlight += chunk.count
            hub.input(chunk, from: id, key: key)
        }
        if inputEnded, heldInput.isEmpty, !inputEndSent {
            inputEndSent = true
            hub.stdinEnded(from: id, key: key)
        }
    }

    private func release() {
        guard !released else { return }
        released = true
        counter?.value.subtract(1, ordering: .relaxed)
    }
}
