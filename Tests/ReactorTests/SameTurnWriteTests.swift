import Glibc
import Reactor
import XCTest

/// Answers every read with `reply`; counts reads and drains.
private final class ReplyHandler: ConnectionHandler {
    let reply: [UInt8]
    var reads = 0
    var drains = 0
    var closeAfterReply = false
    init(reply: [UInt8]) { self.reply = reply }
    func connectionDidRead(_ connection: Connection) {
        reads += 1
        connection.drainInput(connection.inputCount)
        connection.write(reply)
        if closeAfterReply { connection.closeGracefully(linger: 5) }
    }
    func connectionDidDrain(_ connection: Connection) { drains += 1 }
    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {}
}

/// Output written during a loop callback leaves in that callback, not on the loop's next turn.
final class SameTurnWriteTests: XCTestCase {
    private var fds: [Int32] = [-1, -1]

    override func setUp() {
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
    }

    override func tearDown() {
        Glibc.close(fds[1])
    }

    /// Runs the loop without blocking until nothing is left to do (the new connection's first
    /// write event, armed at creation, is spent).
    private func settle(_ loop: EventLoop) {
        for _ in 0..<10 { loop.runOnce(block: false) }
    }

    private func receive(max: Int = 1 << 20) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let n = buffer.withUnsafeMutableBytes { recv(fds[1], $0.baseAddress, max, Int32(MSG_DONTWAIT)) }
        return n > 0 ? Array(buffer[..<n]) : []
    }

    func testAReplyWrittenWhileHandlingAReadIsSentInTheSameTurn() throws {
        let loop = EventLoop()
        let handler = ReplyHandler(reply: Array("pong".utf8))
        let connection = Connection(loop: loop, fd: fds[0])
        connection.handler = handler
        settle(loop)
        XCTAssertEqual(Array("ping".utf8).withUnsafeBytes { send(fds[1], $0.baseAddress, $0.count, 0) }, 4)
        let deadline = EventLoop.now() + 5
        while handler.reads == 0 && EventLoop.now() < deadline { loop.runOnce() }
        XCTAssertEqual(handler.reads, 1)
        // No further turn of the loop: the reply is already with the peer.
        XCTAssertEqual(connection.outputCount, 0)
        XCTAssertEqual(receive(), Array("pong".utf8))
        connection.close()
    }

    func testAnAcceptedConnectionWatchesWritabilityOnlyForWhatTheKernelDidNotTake() throws {
        let loop = EventLoop()
        let connection = Connection(loop: loop, fd: fds[0])
        let handler = ReplyHandler(reply: [])
        connection.handler = handler
        settle(loop)
        XCTAssertFalse(connection.waitsForWritability, "nothing to write: no write event for the wait")
        // A small write goes out at the end of the pass; the write event it armed is taken back.
        connection.write(Array("hello".utf8))
        loop.runOnce(block: false)
        XCTAssertEqual(receive(), Array("hello".utf8))
        XCTAssertFalse(connection.waitsForWritability)
        // More than the socket takes while the peer does not read: the rest waits for writability
        // and arrives whole as the peer reads.
        let big = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        connection.write(big)
        loop.runOnce(block: false)
        XCTAssertGreaterThan(connection.outputCount, 0)
        XCTAssertTrue(connection.waitsForWritability)
        var received: [UInt8] = []
        let deadline = EventLoop.now() + 10
        while received.count < big.count && EventLoop.now() < deadline {
            loop.runOnce(block: false)
            received += receive()
        }
        XCTAssertEqual(received.count, big.count)
        XCTAssertTrue(received == big)
        connection.close()
    }

    func testADrainIsReportedWhenTheSameTurnWriteEmptiesTheOutput() throws {
        let loop = EventLoop()
        let handler = ReplyHandler(reply: [UInt8](repeating: 7, count: 100_000))
        let connection = Connection(loop: loop, fd: fds[0])
        connection.handler = handler
        connection.setOutputLowWater(1024)
        settle(loop)
        XCTAssertEqual(Array("go".utf8).withUnsafeBytes { send(fds[1], $0.baseAddress, $0.count, 0) }, 2)
        var received: [UInt8] = []
        let deadline = EventLoop.now() + 5
        while (handler.drains == 0 || received.count < 100_000) && EventLoop.now() < deadline {
            loop.runOnce(block: false)
            received += receive()
        }
        XCTAssertEqual(received, [UInt8](repeating: 7, count: 100_000))
        XCTAssertGreaterThanOrEqual(handler.drains, 1)
        connection.close()
    }

    func testAGracefulCloseAfterASameTurnReplyHalfClosesAfterTheReply() throws {
        let loop = EventLoop()
        let handler = ReplyHandler(reply: Array("last words".utf8))
        handler.closeAfterReply = true
        let connection = Connection(loop: loop, fd: fds[0])
        connection.handler = handler
        settle(loop)
        XCTAssertEqual(Array("bye".utf8).withUnsafeBytes { send(fds[1], $0.baseAddress, $0.count, 0) }, 3)
        var received: [UInt8] = []
        var sawEnd = false
        let deadline = EventLoop.now() + 5
        while !sawEnd && EventLoop.now() < deadline {
            loop.runOnce(block: false)
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(fds[1], $0.baseAddress, 4096, Int32(MSG_DONTWAIT)) }
            if n > 0 { received += buffer[..<n] } else if n == 0 { sawEnd = true }
        }
        XCTAssertEqual(received, Array("last words".utf8))
        XCTAssertTrue(sawEnd, "the connection half-closes once the reply is out")
        connection.close()
    }
}
