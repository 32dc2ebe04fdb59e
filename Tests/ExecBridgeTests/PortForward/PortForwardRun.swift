@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// Drives tunnels of an in-repo port-forward client on a loop run by the test thread: sends each
/// tunnel's bytes (with backpressure), half-closes, and collects what comes back and how it ended.
final class PortForwardRun {
    final class Tunnel: SessionEndpointDelegate {
        let port: UInt16
        var endpoint: SessionEndpoint!
        var received: [UInt8] = []
        var status: ExecStatus?
        var ended: EndReason?
        var halfClosed = false
        fileprivate var input: [UInt8]
        fileprivate var offset = 0
        fileprivate var sentEOF = false

        init(port: UInt16, input: [UInt8]) {
            self.port = port
            self.input = input
        }

        var isOver: Bool { status != nil || ended != nil }
        var failureMessage: String? {
            if case .failure(let message, _, _)? = status { return message }
            return nil
        }

        fileprivate func feed() {
            guard !isOver else { return }
            while offset < input.count && endpoint.pendingBytes < 256 * 1024 {
                let n = min(64 * 1024, input.count - offset)
                input[offset..<offset + n].withUnsafeBytes { endpoint.receive(.data(.stdin, $0)) }
                offset += n
            }
            if offset == input.count && !sentEOF {
                sentEOF = true
                endpoint.receive(.halfClose(.stdin))
            }
        }

        func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
            switch event {
            case .data(.stdout, let bytes): received.append(contentsOf: bytes)
            case .halfClose(.stdout): halfClosed = true
            case .exit(let status): self.status = status
            default: break
            }
        }

        func endpointDidDrain(_ endpoint: SessionEndpoint) {}

        func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
            ended = reason
        }
    }

    let loop = EventLoop()
    private(set) var tunnels: [Tunnel] = []

    /// Opens one tunnel per `(port, input)` with `open` and runs until every one ended.
    func run(_ work: [(port: UInt16, input: [UInt8])], timeout: Double = 30,
             open: (UInt16, SessionEndpointDelegate) -> SessionEndpoint,
             file: StaticString = #filePath, line: UInt = #line) {
        tunnels = work.map { Tunnel(port: $0.port, input: $0.input) }
        for tunnel in tunnels { tunnel.endpoint = open(tunnel.port, tunnel) }
        let ticker = LoopTimer(loop: loop, after: 0.002, repeats: true) { [unowned self] in
            for tunnel in self.tunnels { tunnel.feed() }
        }
        let deadline = EventLoop.now() + timeout
        while tunnels.contains(where: { !$0.isOver }) && EventLoop.now() < deadline { loop.runOnce() }
        ticker.cancel()
        for tunnel in tunnels where !tunnel.isOver {
            XCTFail("tunnel to port \(tunnel.port) did not end within \(timeout) s", file: file, line: line)
            tunnel.endpoint.terminate(.timeout)
        }
    }

    /// Runs the loop a little longer (the last frames leave).
    func settle(until done: () -> Bool = { false }, seconds: Double = 2) {
        let deadline = EventLoop.now() + seconds
        while !done() && EventLoop.now() < deadline { loop.runOnce(block: false); usleep(1000) }
    }
}

/// A checksum a test compares bytes by (FNV-1a, 64-bit): equal data, equal sums.
func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf29ce484222325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
    return hash
}

/// Deterministic test bytes.
func patternBytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 8)) }
}
