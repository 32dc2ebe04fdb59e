import CSystem
import ExecModel
import Glibc
import Logging
import Reactor

/// One forwarded connection of the local backend: a TCP connection to 127.0.0.1:PORT, made only
/// when the inventory lists PORT for the pod (without an inventory no port is forwardable: the
/// gateway must not relay to whatever listens on its own host).
///
/// Events in: `.data(.stdin)` is written to the socket, `.halfClose(.stdin)` shuts its write side
/// once everything before it was written. Events out: `.data(.stdout)` as read; at the pod's EOF
/// `.halfClose(.stdout)` then `.exit(.success)` (kubelet ends a tunnel when the pod's side ends);
/// a refused port or a failed connection is `.exit` with kubelet-shaped text. The socket is a raw
/// descriptor with its own read and write events, so each direction closes on its own.
final class LocalTunnelSession: SessionEndpoint {
    let request: ExecRequest
    weak var delegate: SessionEndpointDelegate?
    private let loop: EventLoop
    private let logger: Logger
    private let port: UInt16
    /// The ports the pod lists; nil when nothing may be forwarded (no inventory).
    private let allowed: Set<UInt16>?
    private var fd: Int32 = -1
    private var readEvent: FileEvent?
    private var writeEvent: FileEvent?
    private var startTimer: LoopTimer?
    private var connected = false
    private var reading = true
    /// Bytes toward the pod not yet taken by the socket (the bridge pauses the client past its budget).
    private var output: [UInt8] = []
    private var written = 0
    private var inputEnded = false
    private var shutDown = false
    private var ended = false
    /// Where the pod's bytes are read, handed on borrowed, once per read.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: LocalTunnelSession.readChunk, alignment: 16)

    /// Hard cap on bytes held toward the pod; the bridge pauses the client far below it.
    static let outputLimit = 4 << 20
    private static let readChunk = 64 * 1024

    init(request: ExecRequest, allowed: Set<UInt16>?, loop: EventLoop, delegate: SessionEndpointDelegate?,
         logger: Logger) {
        self.request = request
        self.port = request.ports.first ?? 0
        self.allowed = allowed
        self.loop = loop
        self.delegate = delegate
        self.logger = logger
        // The bridge holds this end only once `startSession` returned: begin on the next turn.
        startTimer = LoopTimer(loop: loop, after: 0) { [self] in
            startTimer = nil
            begin()
        }
    }

    private func begin() {
        guard !ended else { return }
        guard request.ports.count == 1, port > 0 else {
            return fail("a tunnel names exactly one port")
        }
        guard let allowed, allowed.contains(port) else {
            return fail(allowed == nil ? "no ports are forwardable without an inventory"
                                       : "port not listed in the inventory", reason: "NotFound", code: 404)
        }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return fail("socket: \(errorText(errno))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        readEvent = FileEvent(loop: loop, fd: fd, kind: .read) { [unowned self] in readable() }
        writeEvent = FileEvent(loop: loop, fd: fd, kind: .write) { [unowned self] in writable() }
        if rc == 0 {
            didConnect()
        } else if errno == EINPROGRESS {
            writeEvent?.enable()
        } else {
            fail(dialError(errno))
        }
    }

    private func dialError(_ code: Int32) -> String {
        "dial tcp4 127.0.0.1:\(port): connect: \(errorText(code))"
    }

    private func didConnect() {
        connected = true
        if reading { readEvent?.enable() }
        flush()
        // What the client sent meanwhile may have paused it: it may send again.
        delegate?.endpointDidDrain(self)
    }

    // MARK: Socket events

    private func writable() {
        guard !ended else { return }
        if !connected {
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            guard code == 0 else { return fail(dialError(code)) }
            writeEvent?.disable()
            return didConnect()
        }
        let before = pendingBytes
        flush()
        if pendingBytes < before { delegate?.endpointDidDrain(self) }
    }

    private func readable() {
        guard !ended, reading else { return }
        let count = read(fd, buffer.baseAddress, buffer.count)
        if count > 0 {
            delegate?.endpoint(self, emitted: .data(.stdout, UnsafeRawBufferPointer(rebasing: buffer[0..<count])))
        } else if count == 0 {
            podEnded()
        } else if errno != EAGAIN && errno != EINTR {
            fail("read tcp4 127.0.0.1:\(port): \(errorText(errno))")
        }
    }

    /// The pod's side finished sending: the tunnel's output ends, and so does the tunnel.
    private func podEnded() {
        readEvent?.disable()
        delegate?.endpoint(self, emitted: .halfClose(.stdout))
        guard !ended else { return }
        finish(.success)
    }

    /// Writes what the socket takes now; shuts the write side once the client's input ended.
    private func flush() {
        guard connected, !ended else { return }
        while written < output.count {
            let count = output.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count > 0 {
                written += count
            } else if count < 0 && errno == EINTR {
                continue
            } else if count < 0 && errno == EAGAIN {
                writeEvent?.enable()
                return
            } else {
                return fail("write tcp4 127.0.0.1:\(port): \(errorText(errno))")
            }
        }
        output.removeAll(keepingCapacity: output.count <= Self.readChunk)
        written = 0
        writeEvent?.disable()
        if inputEnded, !shutDown {
            shutDown = true
            shutdown(fd, Int32(SHUT_WR))
        }
    }

    // MARK: SessionEndpoint

    func receive(_ event: SessionEvent) {
        guard !ended else { return }
        switch event {
        case .data(.stdin, let bytes):
            guard !inputEnded else { return }
            guard pendingBytes + bytes.count <= Self.outputLimit else {
                return fail("more than \(Self.outputLimit) bytes held toward the pod")
            }
            output.append(contentsOf: bytes)
            if written == 0 || output.count - written == bytes.count { flush() }
        case .halfClose(.stdin):
            inputEnded = true
            flush()
        default:
            break
        }
    }

    var pendingBytes: Int { output.count - written }

    func setReading(_ on: Bool) {
        reading = on
        guard connected, !ended else { return }
        if on { readEvent?.enable() } else { readEvent?.disable() }
    }

    func terminate(_ reason: EndReason) {
        delegate = nil
        close()
    }

    deinit { buffer.deallocate() }

    // MARK: The end

    private func fail(_ why: String, reason: String = "InternalError", code: Int = 500) {
        logger.info("port-forward tunnel failed", metadata: ["port": "\(port)", "error": "\(why)"])
        finish(.portForwardFailure(port: port, target: request.target, why, reason: reason, code: code))
    }

    private func finish(_ status: ExecStatus) {
        guard !ended else { return }
        let delegate = self.delegate
        close()
        delegate?.endpoint(self, emitted: .exit(status))
    }

    private func close() {
        ended = true
        startTimer?.cancel()
        startTimer = nil
        readEvent?.invalidate()
        writeEvent?.invalidate()
        readEvent = nil
        writeEvent = nil
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        output = []
        written = 0
    }
}
