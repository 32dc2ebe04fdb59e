import ExecBridge
import ExecModel
import Logging
import Reactor
import XCTest

/// The Bridge alone, between two fake endpoints: what it decides by itself (backpressure, the order
/// of the end, what a vanished side means, its timers), byte for byte and event for event.
final class BridgeTests: XCTestCase {
    /// One end of a session that records what the bridge does to it. Payload it receives stays
    /// "pending" until the test drains it, as a socket that the peer does not read.
    final class FakeEndpoint: SessionEndpoint {
        var received: [String] = []
        var payload: [Channel: [UInt8]] = [:]
        var statuses: [ExecStatus] = []
        var readingCalls: [Bool] = []
        var terminatedWith: [EndReason] = []
        var pendingBytes = 0
        var stallsMeanAStuckPeer = true

        func receive(_ event: SessionEvent) {
            switch event {
            case .data(let channel, let bytes):
                received.append("data:\(channel):\(bytes.count)")
                payload[channel, default: []].append(contentsOf: bytes)
                pendingBytes += bytes.count
            case .halfClose(let channel):
                received.append("halfClose:\(channel)")
            case .resize(let size):
                received.append("resize:\(size.width)x\(size.height)")
            case .exit(let status):
                received.append("exit")
                statuses.append(status)
            }
        }

        func setReading(_ on: Bool) { readingCalls.append(on) }
        func terminate(_ reason: EndReason) { terminatedWith.append(reason) }
    }

    /// A backend whose one session is a `FakeEndpoint`.
    final class FakeBackend: Backend {
        let endpoint = FakeEndpoint()
        var delegate: SessionEndpointDelegate?

        func check(_ request: ExecRequest) -> RequestError? { nil }

        func startSession(_ request: ExecRequest, on loop: EventLoop,
                          delegate: SessionEndpointDelegate) -> SessionEndpoint {
            self.delegate = delegate
            return endpoint
        }
    }

    private let harness = LocalBackendHarness()
    private let request = LocalBackendHarness.request(["cat"], stdin: true)
    private let frontend = FakeEndpoint()
    private let backend = FakeBackend()

    private func makeBridge(budget: Int = 1000, idle: Double = 3600, stall: Double = 0) -> Bridge {
        var config = BridgeConfig()
        config.channelBudget = budget
        config.idleTimeout = idle
        config.stallTimeout = stall
        let bridge = Bridge(request: request, loop: harness.loop, config: config,
                            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        bridge.start(frontend: frontend, backend: backend)
        return bridge
    }

    private func emit(_ bridge: Bridge, from endpoint: SessionEndpoint, _ channel: Channel, count: Int) {
        [UInt8](repeating: 0x61, count: count).withUnsafeBytes {
            bridge.endpoint(endpoint, emitted: .data(channel, $0))
        }
    }

    // MARK: Backpressure

    func testBackendIsPausedOverTheBudgetAndResumedAtAQuarterOfIt() {
        let bridge = makeBridge(budget: 1000)
        emit(bridge, from: backend.endpoint, .stdout, count: 600)
        emit(bridge, from: backend.endpoint, .stdout, count: 400)
        XCTAssertEqual(backend.endpoint.readingCalls, [], "exactly the budget is not over it")
        emit(bridge, from: backend.endpoint, .stdout, count: 1)
        XCTAssertEqual(backend.endpoint.readingCalls, [false])
        // Bytes read before the pause still go through, and do not pause twice.
        emit(bridge, from: backend.endpoint, .stdout, count: 100)
        XCTAssertEqual(backend.endpoint.readingCalls, [false])
        XCTAssertEqual(frontend.payload[.stdout]?.count, 1101)

        frontend.pendingBytes = 251
        bridge.endpointDidDrain(frontend)
        XCTAssertEqual(backend.endpoint.readingCalls, [false], "still above the low-water mark (budget / 4)")
        frontend.pendingBytes = 250
        bridge.endpointDidDrain(frontend)
        XCTAssertEqual(backend.endpoint.readingCalls, [false, true])
        bridge.endpointDidDrain(frontend)
        XCTAssertEqual(backend.endpoint.readingCalls, [false, true], "a drain without a pause resumes nothing")
        XCTAssertEqual(frontend.readingCalls, [])
        XCTAssertEqual(bridge.peakPending, 1101)
        XCTAssertEqual(bridge.bytes[.stdout], 1101)
    }

    func testClientIsPausedWhileTheBackendHoldsItsStdin() {
        let bridge = makeBridge(budget: 400)
        emit(bridge, from: frontend, .stdin, count: 401)
        XCTAssertEqual(frontend.readingCalls, [false])
        XCTAssertEqual(backend.endpoint.payload[.stdin]?.count, 401)
        backend.endpoint.pendingBytes = 0
        bridge.endpointDidDrain(backend.endpoint)
        XCTAssertEqual(frontend.readingCalls, [false, true])
        XCTAssertEqual(backend.endpoint.readingCalls, [])
        XCTAssertEqual(bridge.bytes[.stdin], 401)
    }

    // MARK: The end

    func testStatusReachesTheClientAfterTheOutputAndEndsBothSides() {
        let bridge = makeBridge()
        emit(bridge, from: backend.endpoint, .stdout, count: 5)
        bridge.endpoint(backend.endpoint, emitted: .halfClose(.stdout))
        emit(bridge, from: backend.endpoint, .stderr, count: 3)
        bridge.endpoint(backend.endpoint, emitted: .halfClose(.stderr))
        bridge.endpoint(backend.endpoint, emitted: .exit(.exited(3)))
        XCTAssertEqual(frontend.received, ["data:stdout:5", "halfClose:stdout", "data:stderr:3", "halfClose:stderr", "exit"])
        XCTAssertEqual(frontend.statuses, [.exited(3)])
        XCTAssertEqual(bridge.outcome?.reason, .completed)
        XCTAssertEqual(bridge.outcome?.status, .exited(3))
        XCTAssertEqual(frontend.terminatedWith, [.completed])
        XCTAssertEqual(backend.endpoint.terminatedWith, [.completed])
        // Nothing moves after the end, in either direction.
        emit(bridge, from: backend.endpoint, .stdout, count: 7)
        emit(bridge, from: frontend, .stdin, count: 7)
        bridge.endpoint(backend.endpoint, emitted: .exit(.success))
        XCTAssertEqual(frontend.received.count, 5)
        XCTAssertEqual(backend.endpoint.received, [])
        XCTAssertEqual(frontend.terminatedWith, [.completed])
    }

    func testAnExitFromTheClientSideIsNotAStatus() {
        let bridge = makeBridge()
        bridge.endpoint(frontend, emitted: .exit(.success))
        XCTAssertNil(bridge.outcome)
        XCTAssertEqual(backend.endpoint.received, [])
    }

    func testStdinEndAndResizeReachTheBackendInOrder() {
        let bridge = makeBridge()
        bridge.endpoint(frontend, emitted: .resize(TerminalSize(width: 80, height: 24)))
        emit(bridge, from: frontend, .stdin, count: 2)
        bridge.endpoint(frontend, emitted: .halfClose(.stdin))
        XCTAssertEqual(backend.endpoint.received, ["resize:80x24", "data:stdin:2", "halfClose:stdin"])
        XCTAssertNil(bridge.outcome)
    }

    func testALostBackendIsAnInternalErrorNeverSuccess() {
        let bridge = makeBridge()
        emit(bridge, from: backend.endpoint, .stdout, count: 4)
        bridge.endpoint(backend.endpoint, didEnd: .backendGone)
        XCTAssertEqual(frontend.received, ["data:stdout:4", "exit"])
        XCTAssertEqual(frontend.statuses, [.internalError("lost connection to backend")])
        XCTAssertEqual(bridge.outcome?.reason, .backendGone)
        XCTAssertEqual(bridge.outcome?.status, .internalError("lost connection to backend"))
        XCTAssertEqual(frontend.terminatedWith, [.backendGone])
        XCTAssertEqual(backend.endpoint.terminatedWith, [.backendGone])
    }

    func testAGoneClientEndsTheCommandWithoutAStatus() {
        let bridge = makeBridge()
        bridge.endpoint(frontend, didEnd: .clientGone)
        XCTAssertEqual(frontend.received, [])
        XCTAssertEqual(bridge.outcome?.reason, .clientGone)
        XCTAssertNil(bridge.outcome?.status)
        XCTAssertEqual(backend.endpoint.terminatedWith, [.clientGone])
        // A late end from the backend changes nothing.
        bridge.endpoint(backend.endpoint, didEnd: .backendGone)
        XCTAssertEqual(frontend.received, [])
        XCTAssertEqual(bridge.outcome?.reason, .clientGone)
    }

    // MARK: Timers

    func testAnIdleSessionEndsWithATimeoutStatus() {
        let bridge = makeBridge(idle: 0.2)
        XCTAssertTrue(harness.run(until: { bridge.outcome != nil }))
        XCTAssertEqual(frontend.statuses, [.failure(message: "session idle for 0 s", reason: "Timeout", code: 504)])
        XCTAssertEqual(bridge.outcome?.reason, .timeout)
        XCTAssertEqual(backend.endpoint.terminatedWith, [.timeout])
    }

    func testAClientThatStopsReadingIsAStall() {
        let bridge = makeBridge(stall: 0.2)
        emit(bridge, from: backend.endpoint, .stdout, count: 10)
        XCTAssertTrue(harness.run(until: { bridge.outcome != nil }))
        XCTAssertEqual(frontend.statuses.last, .failure(message: "stalled: client not reading for 0s",
                                                        reason: "Timeout", code: 504))
        XCTAssertEqual(bridge.outcome?.reason, .timeout)
    }

    func testALocalProcessThatReadsLateIsNoStall() {
        backend.endpoint.stallsMeanAStuckPeer = false
        let bridge = makeBridge(stall: 0.1)
        emit(bridge, from: frontend, .stdin, count: 10)
        // Many stall periods pass with the bytes undrained: the session goes on.
        harness.run(for: 0.5)
        XCTAssertNil(bridge.outcome)
        XCTAssertEqual(frontend.statuses, [])
    }
}
