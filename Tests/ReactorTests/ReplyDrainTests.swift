import Glibc
import Reactor
import XCTest

/// Answers each read with a small reply and counts the drain
/// notices; on "big" it writes more than the socket takes at once, so part of it is queued.
private final class ReplyHandler: ConnectionHandler {
    var drains = 0
    var closed = false
    func connectionDidRead(_ connection: Connection) {
        var bytes: [UInt8] = []
        connection.consumeInput { chunk in
            bytes.append(contentsOf: chunk)
            return chunk.count
        }
        if bytes == Array("big".utf8) {
            connection.write(Array(repeating: UInt8(ascii: "b"), count: 8 << 20))
        } else {
            connection.write(Array("re:".utf8) + bytes)
        }
    }
    func connectionDidDrain(_ connection: Connection) { drains += 1 }
    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) { closed = true }
}

private final class Collector: ConnectionHandler {
    var received: [UInt8] = []
    func connectionDidRead(_ connection: Connection) {
        connection.consumeInput { chunk in
            received.append(contentsOf: chunk)
            return chunk.count
        }
    }
    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {}
}

/// Small replies written on an accepted plain socket leave before the loop waits again; their
/// handler still hears that the output drained after each, as it did when every write went through
/// the bufferevent alone (producers that paused resume on that news). The pass-end flush
/// (`Connection+Flush`) and the bufferevent may both say so: at least one notice per reply.
final class ReplyDrainTests: XCTestCase {
    func testRepliesArriveInOrderAndAnnounceTheirDrain() throws {
        let loop = EventLoop()
        // Wakes the loop now and then, so that a notice that never comes fails at the deadline
        // instead of blocking runOnce for good.
        let tick = LoopTimer(loop: loop, after: 0.05, repeats: true) {}
        defer { tick.cancel() }
        let server = ReplyHandler()
        let listener = try Listener(loop: loop, address: SocketAddress(parsing: "127.0.0.1:0")) { fd, _ in
            Connection(loop: loop, fd: fd).handler = server
        }
        let collector = Collector()
        let client = try XCTUnwrap(Connection.connect(loop: loop, to: listener.address, handler: collector))
        var expected: [UInt8] = []
        for round in 1...3 {
            // Settled first: the bufferevent announces its empty output once when the socket opens.
            var settled = false
            let settle = LoopTimer(loop: loop, after: 0.1) { settled = true }
            while !settled { loop.runOnce() }
            XCTAssertFalse(settle.isActive)
            let before = server.drains
            let message = Array("m\(round)".utf8)
            client.write(message)
            expected += Array("re:".utf8) + message
            let deadline = EventLoop.now() + 10
            while (collector.received.count < expected.count || server.drains == before) && EventLoop.now() < deadline {
                loop.runOnce()
            }
            XCTAssertEqual(collector.received, expected, "round \(round)")
            XCTAssertGreaterThan(server.drains, before, "a drain notice after the reply, round \(round)")
        }
        // More than the kernel takes at once: the rest is queued, and every byte still arrives in order.
        let beforeBig = server.drains
        client.write(Array("big".utf8))
        let total = expected.count + (8 << 20)
        let deadline = EventLoop.now() + 30
        while collector.received.count < total && EventLoop.now() < deadline { loop.runOnce() }
        XCTAssertEqual(collector.received.count, total)
        XCTAssertTrue(collector.received[expected.count...].allSatisfy { $0 == UInt8(ascii: "b") })
        while server.drains == beforeBig && EventLoop.now() < deadline { loop.runOnce() }
        XCTAssertGreaterThan(server.drains, beforeBig, "the queued rest drains and says so")
        client.close()
        while !server.closed && EventLoop.now() < deadline { loop.runOnce() }
        XCTAssertTrue(server.closed)
        listener.close()
    }
}
