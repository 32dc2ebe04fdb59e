@testable import ExecBridge
import ExecModel
import Foundation
import Glibc
import HTTP2
import Reactor
import XCTest

/// What a load balancer sees of a draining gateway: `/readyz` 503 from the signal on, sessions
/// still served during `--drain-delay`, then new sessions refused with 503 and Retry-After while
/// running ones finish, health probes answered until the exit.
final class DrainReadinessTests: XCTestCase {
    private let holdPath = SessionCases.path(["cat"], "input=1&output=1")

    private func get(_ port: UInt16, _ path: String) throws -> (status: Int, head: String, body: String)? {
        let socket = try RawSocket(port: port)
        socket.send("GET \(path) HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        return socket.readResponse()
    }

    private func upgradeRequest() -> String {
        "POST \(holdPath) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n"
    }

    /// An admitted SPDY exec upgrade whose client opens no streams: a connection that holds a session.
    private func holdSession(_ port: UInt16) throws -> RawSocket {
        let socket = try RawSocket(port: port)
        socket.send(upgradeRequest())
        var data: [UInt8] = []
        var byte: UInt8 = 0
        while recv(socket.fd, &byte, 1, 0) == 1 {
            data.append(byte)
            if data.suffix(4) == Array("\r\n\r\n".utf8) { break }
        }
        XCTAssertTrue(String(decoding: data, as: UTF8.self).hasPrefix("HTTP/1.1 101"))
        return socket
    }

    private func waitFor(_ what: String, timeout: Double = 10, _ condition: () throws -> Bool) rethrows {
        let deadline = EventLoop.now() + timeout
        while try !condition() {
            guard EventLoop.now() < deadline else { return XCTFail("timed out waiting for \(what)") }
            usleep(20_000)
        }
    }

    private func listenerClosed(_ port: UInt16) -> Bool {
        (try? RawSocket(port: port, timeout: 1)) == nil
    }

    func testReadyzFailsAtOnceWhileTheDrainDelayStillServesSessions() throws {
        let harness = try GatewayHarness { $0.drainDelay = 600 }
        XCTAssertEqual(try get(harness.port, "/readyz")?.status, 200)
        harness.gateway.shutdown()
        try waitFor("/readyz 503") { try get(harness.port, "/readyz")?.status == 503 }
        let ready = try XCTUnwrap(try get(harness.port, "/readyz"))
        XCTAssertEqual(ready.body, "draining")
        XCTAssertEqual(try get(harness.port, "/healthz")?.status, 200)
        XCTAssertEqual(try get(harness.port, "/livez")?.status, 200)
        // Until the balancer has noticed, a client that still reaches this replica is served.
        for wire in [ExecRun.Wire.spdy, .h2Prior, .ws([.v5])] {
            let r = ExecRun(stdin: Array("late but served".utf8))
                .run(wire, port: harness.port, path: SessionCases.path(["cat"], "input=1&output=1"))
            XCTAssertEqual(r.stdoutText, "late but served", "\(wire)")
            XCTAssertEqual(r.status, .success, "\(wire)")
        }
        XCTAssertEqual(try get(harness.port, "/readyz")?.status, 503)
        // A second signal cuts the delay short: nothing is left, so the gateway stops.
        harness.gateway.shutdown()
        try waitFor("the listener closed") { listenerClosed(harness.port) }
    }

    func testAfterTheDelayNewSessionsAre503WithRetryAfterAndTheRunningOneFinishes() throws {
        let harness = try GatewayHarness(threads: 2) { $0.drainDelay = 0 }
        let go = FileManager.default.temporaryDirectory.appendingPathComponent("drain-go-\(UUID().uuidString)").path
        defer { unlink(go) }
        let script = "echo started; while [ ! -e \"$0\" ]; do sleep 0.05; done; echo finished"
        var refusals: [(status: Int, head: String, body: String)] = []
        var probes: [Int?] = []
        var signalled = false
        let run = ExecRun()
        run.onTick = { r in
            guard !signalled, r.stdoutText == "started\n" else { return }
            signalled = true
            harness.gateway.shutdown()
            // Both loops refuse: several new connections, whichever loop takes each.
            self.waitFor("/readyz 503") { (try? self.get(harness.port, "/readyz"))??.status == 503 }
            for _ in 0..<4 {
                guard let socket = try? RawSocket(port: harness.port) else { continue }
                socket.send(self.upgradeRequest())
                if let answer = socket.readResponse() { refusals.append(answer) }
                probes.append((try? self.get(harness.port, "/readyz"))??.status)
            }
            probes.append((try? self.get(harness.port, "/healthz"))??.status)
            FileManager.default.createFile(atPath: go, contents: nil)
        }
        run.run(.spdy, port: harness.port, path: SessionCases.path(["sh", "-c", script, go], "output=1"))
        XCTAssertTrue(signalled)
        XCTAssertEqual(run.stdoutText, "started\nfinished\n")
        XCTAssertEqual(run.status, .success)
        XCTAssertEqual(refusals.count, 4)
        for answer in refusals {
            XCTAssertEqual(answer.status, 503)
            XCTAssertTrue(answer.head.lowercased().contains("retry-after: 1"), answer.head)
            XCTAssertTrue(answer.head.lowercased().contains("connection: close"), answer.head)
            XCTAssertTrue(answer.body.contains(#""reason":"ServiceUnavailable""#), answer.body)
            XCTAssertTrue(answer.body.contains("shutting down"), answer.body)
        }
        XCTAssertEqual(probes, [503, 503, 503, 503, 200])
        try waitFor("the gateway to stop once its session ended") { listenerClosed(harness.port) }
    }

    /// HTTP/2: a stream opened on a connection made during the drain is answered 503; once the
    /// gateway's last session ended, that connection gets GOAWAY (NO_ERROR) and closes.
    func testAnHTTP2ConnectionMadeDuringTheDrainIsRefusedThenGoesAway() throws {
        let harness = try GatewayHarness { $0.drainTimeout = 30 }
        var held: RawSocket? = try holdSession(harness.port)
        harness.gateway.shutdown()
        try waitFor("/readyz 503") { try get(harness.port, "/readyz")?.status == 503 }
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let stream = try client.exec(SessionCases.path(["echo", "late"], "stdout=1"))
        XCTAssertTrue(client.run { client[stream].ended || client[stream].closeCode != nil })
        XCTAssertEqual(client[stream].status, 503)
        XCTAssertEqual(client[stream].head.first("retry-after"), "1")
        XCTAssertTrue(client[stream].text.contains("shutting down"), client[stream].text)
        XCTAssertNil(client.goAway.map { "\($0)" })
        held = nil
        XCTAssertTrue(client.run { client.goAway != nil })
        XCTAssertEqual(client.goAway?.code, HTTP2ErrorCode.noError)
        XCTAssertTrue(client.run { client.closed })
        try waitFor("the listener closed") { listenerClosed(harness.port) }
        withExtendedLifetime(held) {}
    }
}

/// `execbridge serve --drain-delay` as an operator runs it.
final class DrainDelayCommandTests: XCTestCase {
    func testDrainDelayFlagKeepsServingUntilASecondSignalThenExitsZero() throws {
        let gateway = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--drain-delay", "600", "--drain-timeout", "5"])
        kill(gateway.pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        var ready: Int?
        repeat {
            let socket = try RawSocket(port: gateway.port)
            socket.send("GET /readyz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            ready = socket.readResponse()?.status
            if ready != 503 { usleep(20_000) }
        } while ready != 503 && Date() < deadline
        XCTAssertEqual(ready, 503)
        let r = ExecRun().run(.spdy, port: gateway.port, path: SessionCases.path(["echo", "still served"]))
        XCTAssertEqual(r.stdoutText, "still served\n")
        XCTAssertEqual(r.status, .success)
        kill(gateway.pid, SIGTERM)
        let end = Date().addingTimeInterval(10)
        while gateway.process.isRunning && Date() < end { usleep(20_000) }
        XCTAssertFalse(gateway.process.isRunning, "still running after the second SIGTERM with nothing to drain")
        XCTAssertEqual(gateway.process.terminationStatus, 0)
    }

    func testANegativeDrainDelayIsRefused() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServeProcess.binary.path), "execbridge not built")
        let process = Process()
        process.executableURL = ServeProcess.binary
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--drain-delay", "-1"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 64)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("--drain-delay must be 0 or a positive number of seconds (got -1.0)"), text)
    }
}

/// HTTP/2 during `--drain-delay`: a connection without a running session is sent GOAWAY so its
/// client's next session goes through the balancer again; one with a running session keeps it
/// and may still open streams.
final class DrainDelayHTTP2Tests: XCTestCase {
    private func request(_ path: String) -> [(String, String)] {
        [(":method", "POST"), (":scheme", "http"), (":authority", "gw"), (":path", path)]
    }

    func testAnIdleConnectionGetsGoAwayWhileABusyOneIsStillServed() throws {
        let harness = try GatewayHarness {
            $0.drainDelay = 600
            $0.bridge.closeLinger = 0.2
        }
        let idle = try H2MuxClient(port: harness.port)
        defer { idle.close() }
        let done = try idle.exec(SessionCases.path(["echo", "before"], "stdout=1"))
        XCTAssertTrue(idle.run { idle[done].closeCode != nil })
        XCTAssertEqual(idle[done].text, "before\n")

        let busy = try H2MuxClient(port: harness.port)
        defer { busy.close() }
        let running = try busy.open(request(SessionCases.path(["cat"], "stdin=1&stdout=1")), body: [], end: false)
        XCTAssertTrue(busy.run { busy[running].status == 200 })

        harness.gateway.shutdown()
        XCTAssertTrue(idle.run { idle.goAway != nil }, "the idle connection is told to go")
        XCTAssertEqual(idle.goAway?.code, HTTP2ErrorCode.noError)

        // The busy connection: no GOAWAY, and a new stream is still served during the delay.
        let late = try busy.exec(SessionCases.path(["echo", "late"], "stdout=1"))
        XCTAssertTrue(busy.run { busy[late].closeCode != nil })
        XCTAssertEqual(busy[late].status, 200)
        XCTAssertEqual(busy[late].text, "late\n")
        try busy.h2.sendData(Array("still here".utf8), stream: running)
        try busy.h2.endStream(running)
        busy.h2.flush()
        XCTAssertTrue(busy.run { busy[running].closeCode != nil })
        XCTAssertEqual(busy[running].text, "still here")
        XCTAssertEqual(busy[running].exitCode, 0)
        XCTAssertNil(busy.goAway.map { "\($0)" })
    }
}
