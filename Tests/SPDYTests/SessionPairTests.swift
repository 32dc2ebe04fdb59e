import XCTest
@testable import SPDY

final class SessionPairTests: XCTestCase {
    /// What client-go does for `kubectl exec -i -t=false`: one stream per channel, each opened only after the
    /// previous one was replied to; then data both ways, FINs both ways, a reset, GOAWAY.
    func testClientAndServerTalkInMemory() throws {
        let pair = SessionPair()
        pair.serverRecorder.onOpen = { s, id, _ in try! s.reply(to: id) }
        var ids: [String: UInt32] = [:]
        for type in ["error", "stdin", "stdout", "stderr", "resize"] {
            let id = try pair.client.openStream(headers: ["streamtype": type])
            pair.pump()
            XCTAssertEqual(pair.serverRecorder.takeEvents(), [.open(id, ["streamtype": type], false)])
            XCTAssertEqual(pair.clientRecorder.takeEvents(), [.reply(id, [], false)])
            ids[type] = id
        }
        XCTAssertEqual(ids, ["error": 1, "stdin": 3, "stdout": 5, "stderr": 7, "resize": 9])

        // Client writes stdin and a resize, then half-closes stdin.
        try pair.client.sendData(Array("echo hi\n".utf8), on: 3)
        try pair.client.sendData(Array("{\"Width\":80,\"Height\":24}\n".utf8), on: 9)
        try pair.client.finish(3)
        pair.pump()
        XCTAssertEqual(pair.serverRecorder.takeEvents(), [
            .data(3, Array("echo hi\n".utf8)), .data(9, Array("{\"Width\":80,\"Height\":24}\n".utf8)), .fin(3),
        ])

        // Server answers on stdout (large enough to split into frames), stderr, then the status, FINs all.
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        XCTAssertEqual(try pair.server.sendData(big, on: 5), big.count)
        try pair.server.sendData(Array("warn".utf8), on: 7, fin: true)
        try pair.server.finish(5)
        try pair.server.sendData(Array("{\"metadata\":{},\"status\":\"Success\"}".utf8), on: 1, fin: true)
        pair.pump()
        let clientEvents = pair.clientRecorder.takeEvents()
        XCTAssertEqual(clientEvents, [
            .data(5, big), .data(7, Array("warn".utf8)), .fin(7), .fin(5),
            .data(1, Array("{\"metadata\":{},\"status\":\"Success\"}".utf8)), .fin(1),
        ])
        // The server never FINs stdin: its half is closed by the client; the server drops it with a reset.
        XCTAssertEqual(pair.server.streamState(3)?.isRemoteClosed, true)
        pair.server.reset(3, status: .cancel)
        pair.pump()
        XCTAssertEqual(pair.clientRecorder.takeEvents(), [.reset(3, .cancel, byPeer: true)])

        // Client closes its remaining halves, then goes away as spdystream's Close() does.
        for id: UInt32 in [1, 5, 7, 9] { try pair.client.finish(id) }
        pair.client.goAway()
        pair.pump()
        XCTAssertEqual(pair.serverRecorder.takeEvents(), [.fin(1), .fin(5), .fin(7), .fin(9), .goAway(0, .ok)])
        XCTAssertEqual(pair.client.streamIDs, [9])
        XCTAssertEqual(pair.server.streamIDs, [9])
        try pair.server.finish(9)
        pair.pump()
        XCTAssertEqual(pair.client.streamIDs, [])
        XCTAssertEqual(pair.server.streamIDs, [])
        XCTAssertFalse(pair.client.hasFailed || pair.server.hasFailed)
    }

    func testServerOpenedStreamsAndPingsTheOtherWay() throws {
        let pair = SessionPair()
        pair.clientRecorder.onOpen = { s, id, _ in try! s.reply(to: id, headers: ["ok": "1"]) }
        let id = try pair.server.openStream(headers: ["push": "yes"], priority: 3)
        XCTAssertEqual(id, 2)
        let ping = pair.server.ping()
        pair.pump()
        XCTAssertEqual(pair.clientRecorder.takeEvents(), [.open(2, ["push": "yes"], false)])
        XCTAssertEqual(pair.serverRecorder.takeEvents(), [.reply(2, ["ok": "1"], false), .pingAck(ping)])
        let clientPing = pair.client.ping()
        pair.pump()
        XCTAssertEqual(pair.clientRecorder.takeEvents(), [.pingAck(clientPing)])
    }

    func testWindowUpdatesKeepAFlowControlledPeerGoing() throws {
        // Once flow control is in use (here the server announces a window), both sides credit what they
        // receive, so transfers larger than the windows still complete in rounds.
        let pair = SessionPair()
        pair.serverRecorder.onOpen = { s, id, _ in try! s.reply(to: id) }
        let id = try pair.client.openStream(headers: ["streamtype": "stdin"])
        pair.pump()
        _ = pair.serverRecorder.takeEvents()
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
        var sent = try pair.client.sendData(payload, on: id)
        XCTAssertEqual(sent, payload.count, "no flow control yet: everything goes")
        pair.pump()
        XCTAssertFalse(pair.client.isFlowControlActive, "nobody used flow control yet")
        // Server pushes back with a small initial window; the client now honours it.
        try pair.server.sendSettings([.initialWindowSize(1000)])
        pair.pump()
        XCTAssertTrue(pair.client.isFlowControlActive)
        XCTAssertEqual(pair.client.sendWindow(for: id), 1000)
        sent = try pair.client.sendData(payload, on: id)
        XCTAssertEqual(sent, 1000)
        XCTAssertEqual(try pair.client.sendData(payload, on: id), 0, "spent until the server credits more")
        pair.pump()
        XCTAssertEqual(pair.client.sendWindow(for: id), 1000)
        var total = 1000
        var rounds = 0
        while total < payload.count && rounds < 1000 {
            total += try payload.withUnsafeBytes { try pair.client.sendData($0.slice(total, payload.count), on: id) }
            pair.pump()
            rounds += 1
        }
        XCTAssertEqual(total, payload.count)
        let received = pair.serverRecorder.takeEvents().reduce(into: [UInt8]()) {
            if case .data(_, let bytes) = $1 { $0 += bytes }
        }
        XCTAssertEqual(received.count, payload.count * 2)
    }
}
