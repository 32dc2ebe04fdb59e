import Glibc
import Reactor
import XCTest

/// Echoes whatever it reads, and closes gracefully on "bye".
private final class EchoHandler: ConnectionHandler {
    var closed: Connection.CloseReason?
    func connectionDidRead(_ connection: Connection) {
        var bytes: [UInt8] = []
        connection.consumeInput { chunk in
            bytes.append(contentsOf: chunk)
            return chunk.count
        }
        connection.write(bytes)
        if bytes.suffix(3) == Array("bye".utf8) { connection.closeGracefully(linger: 1) }
    }
    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) { closed = reason }
}

/// Sends a message, collects the echo until the server closes.
private final class ClientHandler: ConnectionHandler {
    let message: [UInt8]
    var received: [UInt8] = []
    var closed: Connection.CloseReason?
    init(message: [UInt8]) { self.message = message }
    func connectionDidConnect(_ connection: Connection) { connection.write(message) }
    func connectionDidRead(_ connection: Connection) {
        connection.consumeInput { chunk in
            received.append(contentsOf: chunk)
            return chunk.count
        }
    }
    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) { closed = reason }
}

final class ReactorTests: XCTestCase {
    func testTimerFiresOnceAndRepeatingTimerRepeats() {
        let loop = EventLoop()
        var once = 0
        var repeated = 0
        let t1 = LoopTimer(loop: loop, after: 0.01) { once += 1 }
        var t2: LoopTimer?
        t2 = LoopTimer(loop: loop, after: 0.01, repeats: true) {
            repeated += 1
            if repeated == 3 { t2?.cancel() }
        }
        let deadline = EventLoop.now() + 5
        while (once < 1 || repeated < 3) && EventLoop.now() < deadline { loop.runOnce() }
        XCTAssertEqual(once, 1)
        XCTAssertEqual(repeated, 3)
        XCTAssertFalse(t1.isActive)
        // The repeating timer's callback holds the variable that holds the timer.
        t2 = nil
    }

    func testEchoOverLoopbackAndGracefulClose() throws {
        let loop = EventLoop()
        var server: EchoHandler?
        let listener = try Listener(loop: loop, address: SocketAddress(parsing: "127.0.0.1:0")) { fd, _ in
            let connection = Connection(loop: loop, fd: fd)
            let handler = EchoHandler()
            server = handler
            connection.handler = handler
        }
        XCTAssertNotEqual(listener.address.port, 0)
        let payload = Array(repeating: UInt8(ascii: "x"), count: 300_000) + Array("bye".utf8)
        let client = ClientHandler(message: payload)
        _ = Connection.connect(loop: loop, to: listener.address, handler: client)
        let deadline = EventLoop.now() + 10
        while client.closed == nil && EventLoop.now() < deadline { loop.runOnce() }
        XCTAssertEqual(client.received.count, payload.count)
        XCTAssertEqual(client.received, payload)
        XCTAssertEqual(client.closed, .peerClosed)
        while server?.closed == nil && EventLoop.now() < deadline { loop.runOnce() }
        XCTAssertNotNil(server?.closed)
    }

    func testConnectToClosedPortReportsError() throws {
        let loop = EventLoop()
        // Bind and close a listener to find a port nobody listens on.
        var address = try SocketAddress(parsing: "127.0.0.1:0")
        do {
            let listener = try Listener(loop: loop, address: address) { fd, _ in _ = Glibc.close(fd) }
            address = listener.address
            listener.close()
        }
        let client = ClientHandler(message: [1])
        _ = Connection.connect(loop: loop, to: address, handler: client)
        let deadline = EventLoop.now() + 5
        while client.closed == nil && EventLoop.now() < deadline { loop.runOnce() }
        guard case .error = client.closed else { return XCTFail("expected an error, got \(String(describing: client.closed))") }
    }

    func testTwoLoopsShareOnePort() throws {
        let group = LoopGroup(count: 2)
        let first = try Listener(loop: group.loops[0], address: SocketAddress(parsing: "127.0.0.1:0")) { fd, _ in _ = Glibc.close(fd) }
        let second = try Listener(loop: group.loops[1], address: first.address) { fd, _ in _ = Glibc.close(fd) }
        XCTAssertEqual(first.address.port, second.address.port)
        first.close()
        second.close()
    }

    func testExecuteRunsOnTheLoopThread() {
        let group = LoopGroup(count: 1)
        group.start()
        let done = expectation(description: "ran")
        group.loops[0].execute {
            done.fulfill()
        }
        wait(for: [done], timeout: 5)
        group.stopAll()
        group.join()
    }

    /// The confinement check's view: the running loop's own thread is in the loop, the test's thread
    /// is not while the loop runs, and anyone is while it does not run (setup and teardown).
    func testInEventLoopKnowsTheRunningThread() {
        let group = LoopGroup(count: 1)
        let loop = group.loops[0]
        XCTAssertTrue(loop.inEventLoop, "a loop that does not run belongs to whoever holds it")
        group.start()
        let onLoop = expectation(description: "checked on the loop")
        nonisolated(unsafe) var seenOnLoop = false
        loop.execute {
            seenOnLoop = loop.inEventLoop
            loop.preconditionInEventLoop()
            onLoop.fulfill()
        }
        wait(for: [onLoop], timeout: 5)
        XCTAssertTrue(seenOnLoop)
        #if DEBUG
        XCTAssertFalse(loop.inEventLoop, "the test's thread touched a running loop")
        #endif
        group.stopAll()
        group.join()
        XCTAssertTrue(loop.inEventLoop, "a stopped loop belongs to whoever holds it again")
    }

    func testSocketAddressParsing() throws {
        XCTAssertEqual(try SocketAddress(parsing: "127.0.0.1:8080").description, "127.0.0.1:8080")
        XCTAssertEqual(try SocketAddress(parsing: "[::1]:9").description, "[::1]:9")
        XCTAssertTrue(try SocketAddress(parsing: "127.0.0.1:1").isLoopback)
        XCTAssertTrue(try SocketAddress(parsing: "[::1]:1").isLoopback)
        XCTAssertFalse(try SocketAddress(parsing: "0.0.0.0:1").isLoopback)
        XCTAssertThrowsError(try SocketAddress(parsing: "nohost"))
        XCTAssertThrowsError(try SocketAddress(parsing: "1.2.3.4:99999"))
    }
}
