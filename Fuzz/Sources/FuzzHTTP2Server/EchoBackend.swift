@testable import ExecBridge
import ExecModel
import Reactor

/// A backend that accepts every request and behaves like `cat` on the next loop turns: one line of
/// output first (the event that reached a freed connection in the HTTP/2 use-after-free), then stdin
/// echoed to stdout, and the exit once stdin ends. It keeps its delegate until terminated, as a
/// real process session does.
final class EchoBackend: Backend {
    func check(_ request: ExecRequest) -> RequestError? { nil }

    func startSession(_ request: ExecRequest, on loop: EventLoop, delegate: SessionEndpointDelegate) -> SessionEndpoint {
        EchoSession(loop: loop, delegate: delegate, output: request.stdout ? .stdout : nil)
    }
}

final class EchoSession: SessionEndpoint {
    private var delegate: SessionEndpointDelegate?
    private var timer: LoopTimer?
    private let output: Channel?

    init(loop: EventLoop, delegate: SessionEndpointDelegate, output: Channel?) {
        self.delegate = delegate
        self.output = output
        timer = LoopTimer(loop: loop, after: 0) { [weak self] in self?.greet() }
    }

    private func greet() {
        guard let delegate, let output else { return }
        let line: [UInt8] = Array("ready\n".utf8)
        line.withUnsafeBytes { delegate.endpoint(self, emitted: .data(output, $0)) }
    }

    func receive(_ event: SessionEvent) {
        guard let delegate else { return }
        switch event {
        case .data(_, let bytes):
            if let output { delegate.endpoint(self, emitted: .data(output, bytes)) }
        case .halfClose(.stdin):
            if let output { delegate.endpoint(self, emitted: .halfClose(output)) }
            self.delegate = nil
            delegate.endpoint(self, emitted: .exit(.success))
        case .halfClose, .resize, .exit:
            break
        }
    }

    var pendingBytes: Int { 0 }
    func setReading(_ on: Bool) {}

    func terminate(_ reason: EndReason) {
        timer?.cancel()
        delegate = nil
    }
}
