@testable import ExecBridge
import FuzzSupport
import Glibc
import Logging
import Reactor

// The gateway itself, in process: a Worker with a backend that echoes, and one connection per input
// over a socketpair. The input is what a client writes: after the HTTP/2 client preface (selector
// bit 0 clear) or raw (bit 0 set: the HTTP/1.1 front door, h2c upgrade, WebSocket upgrade); with
// selector bit 1, in two writes with loop turns between (callbacks after the connection started
// closing); with bit 7 set and bit 0 clear, a script of frames (FrameScript). Then the client
// half-closes and the connection is torn down; nothing may crash, hang or outlive it.
final class Harness {
    let loop = EventLoop()
    let worker: Worker
    let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)

    init() {
        var config = GatewayConfig(logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }),
                                   makeBackend: { _ in EchoBackend() })
        config.threads = 1
        config.bridge.closeLinger = 0.01
        worker = Worker(loop: loop, config: config)
    }

    /// Reads and drops what the gateway wrote, so that it never blocks on a full socket.
    func drain(_ fd: Int32) {
        while read(fd, scratch.baseAddress, scratch.count) > 0 {}
    }

    func turns(_ count: Int, _ client: Int32) {
        for _ in 0..<count {
            loop.runOnce(block: false)
            drain(client)
        }
    }

    func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }

    /// What the client writes, write by write (see the file comment and `FrameScript`).
    func writes(_ input: FuzzInput) -> [[UInt8]] {
        let rest = Array(input.rest)
        if input.selector & 0x81 == 0x80 { return [preface] + FrameScript.writes(input.rest) }
        let head = input.selector & 1 == 0 ? preface : []
        guard input.selector & 2 != 0, rest.count > 1 else { return [head + rest] }
        let cut = min(rest.count - 1, Int(input.selector >> 2 & 0x1f) * 9 + 1)
        return [head + rest[..<cut], Array(rest[cut...])]
    }

    func run(_ bytes: UnsafeRawBufferPointer) {
        let input = FuzzInput(bytes)
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { fatalError("socketpair") }
        let client = pair[1]
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        let connection = Connection(loop: loop, fd: pair[0])
        FrontDoor.accept(connection, services: worker.services)

        for chunk in writes(input) {
            chunk.withUnsafeBytes { send(client, $0) }
            turns(3, client)
        }
        turns(6, client)
        shutdown(client, Int32(SHUT_WR))
        turns(4, client)
        close(client)
        turns(2, -1)
        if connection.isOpen { connection.close() }
        turns(2, -1)
    }
}

let harness = Harness()
fuzzMain { harness.run($0) }
