import CLibevent
import COpenSSL
import Glibc

/// A buffered stream socket (plain or TLS) on one loop, wrapping a libevent bufferevent.
///
/// Input is read by the kernel into libevent's buffer and handed to the handler as it is, chunk by
/// chunk, without copying; output is appended once to libevent's buffer and written from there.
/// The input buffer is bounded by a read high-water mark, so a handler that stops consuming stops
/// the socket being read.
///
/// The parts live in extensions by concern: `+Input` (consuming, backpressure), `+DirectRead` (the
/// plain socket's `readv` path), `+Output`, `+Closing` (graceful close and linger), `+Salvage`
/// (input still queued when a write is reset), `+TLS` (ALPN, peer identity).
/// All methods must be called on the loop's thread (asserted in debug builds).
public final class Connection {
    public enum CloseReason: Equatable, Sendable {
        case peerClosed
        case error(Int32)
        case timeout
        case local
    }

    /// Where the connection is in its life; each step only goes forward.
    enum Phase: Equatable {
        /// Reading and writing.
        case open
        /// `closeGracefully` was asked: the output is flushing, input is still handed on.
        case flushing
        /// The output is flushed and our side shut down: input is read and discarded until the
        /// peer closes or the linger timer fires. Nothing more is written.
        case lingering
        /// The bufferevent is freed; the handler was told.
        case closed
    }

    public let loop: EventLoop
    public var handler: ConnectionHandler?
    /// Told once when the connection closes, after the handler (the server's connection count).
    public var closeObserver: ((Connection) -> Void)?
    public var isOpen: Bool { phase != .closed }
    public let peer: SocketAddress?
    public let local: SocketAddress?
    public let fd: Int32
    /// Bytes received and sent, for statistics and the audit record.
    public internal(set) var bytesIn = 0
    public internal(set) var bytesOut = 0
    /// Queued on the loop to be written before it next waits (see `+Flush`).
    var flushQueued = false
    /// The output low-water mark (`setOutputLowWater`): the drain callback fires at or below it.
    var outputLowWater = 0
    /// An outgoing connection not yet connected: nothing is written before the bufferevent says so.
    var connecting = false
    /// The error a write of `+Flush` met: the kernel reports it once, and the bufferevent's own
    /// write would then see another (EPIPE for a reset), so this one is reported in its place.
    var flushError: Int32 = 0

    var phase = Phase.open
    var bev: OpaquePointer?
    private var selfRetain: Unmanaged<Connection>?
    /// The handler asked for no input (backpressure); orthogonal to `phase`, and ignored while lingering.
    var readPaused = false
    /// A handler is walking the input buffer (`consumeInput`): draining it now would free the bytes
    /// the handler's codec is reading (nghttp2 did, under address sanitizer).
    var consuming = false
    /// Plain sockets are read here, not by the bufferevent: libevent 2.1 reads at most 4 KiB per call
    /// (EVBUFFER_MAX_READ), a loop turn and three syscalls per 4 KiB. TLS stays with bufferevent_openssl.
    var socketReader: FileEvent?
    let readHighWater: Int
    var lingerTimer: LoopTimer?
    var resumeTimer: LoopTimer?
    let ssl: OpaquePointer?
    /// Held for the connection's life: its ALPN callback points at the context, which a reload
    /// (a new certificate) would otherwise free under a handshake in progress.
    let tlsContext: TLSContext?

    /// Wraps an accepted or connected descriptor (the connection owns it from now on).
    /// With `tls`, the bufferevent runs OpenSSL on the descriptor.
    public init(loop: EventLoop, fd: Int32, tls: TLSContext? = nil, role: TLSContext.Role = .server,
                serverName: String? = nil, readHighWater: Int = 256 * 1024) {
        loop.preconditionInEventLoop()
        self.loop = loop
        self.fd = fd
        self.peer = SocketAddress.peer(of: fd)
        self.local = SocketAddress.local(of: fd)
        self.readHighWater = readHighWater
        self.tlsContext = tls
        evutil_make_socket_nonblocking(fd)
        evutil_make_socket_closeonexec(fd)
        let options = Int32(BEV_OPT_CLOSE_ON_FREE.rawValue)
        if let tls {
            let ssl = SSL_new(tls.context)
            if let serverName, role == .client { setPeerName(ssl, serverName) }
            self.ssl = ssl
            let state = role == .server ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING
            bev = bufferevent_openssl_socket_new(loop.base, fd, ssl, state, options)
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1)
        } else {
            self.ssl = nil
            bev = bufferevent_socket_new(loop.base, fd, options)
        }
        selfRetain = Unmanaged.passRetained(self)
        bufferevent_setcb(bev, connectionReadCallback, connectionWriteCallback, connectionEventCallback,
                          selfRetain!.toOpaque())
        bufferevent_setwatermark(bev, Int16(EV_READ), 0, readHighWater)
        // libevent moves at most 16 KiB per read or write call by default: at loopback speeds that is
        // a syscall per 16 KiB (measured: +40 % throughput with 256 KiB, docs/performance.md).
        bufferevent_set_max_single_read(bev, readHighWater)
        bufferevent_set_max_single_write(bev, 256 * 1024)
        if ssl == nil {
            // An accepted socket's output goes out at the end of each pass (`+Flush`), which hands
            // the bufferevent only what is left over; an outgoing one's connect needs the write event.
            // (A new bufferevent starts with writing enabled.)
            if role == .client {
                bufferevent_enable(bev, Int16(EV_WRITE))
            } else {
                bufferevent_disable(bev, Int16(EV_WRITE))
            }
            socketReader = FileEvent(loop: loop, fd: fd, kind: .read) { [unowned self] in self.readSocket() }
            socketReader?.enable()
        } else {
            bufferevent_enable(bev, Int16(EV_READ | EV_WRITE))
        }
    }

    /// Opens an outgoing TCP connection; the handler hears `connectionDidConnect` or `connectionDidClose`.
    public static func connect(loop: EventLoop, to address: SocketAddress, tls: TLSContext? = nil,
                               serverName: String? = nil, handler: ConnectionHandler) -> Connection? {
        let family = Int32(address.storage.ss_family)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        evutil_make_socket_nonblocking(fd)
        let connection = Connection(loop: loop, fd: fd, tls: tls, role: .client, serverName: serverName)
        connection.handler = handler
        connection.connecting = true
        let rc = address.withSockaddr { sa, len in
            bufferevent_socket_connect(connection.bev, UnsafeMutablePointer(mutating: sa), Int32(len))
        }
        if rc != 0 {
            connection.finish(.error(errno))
            return nil
        }
        return connection
    }

    /// Frees the bufferevent and tells the handler, then the close observer (once).
    func finish(_ reason: CloseReason) {
        guard phase != .closed else { return }
        phase = .closed
        lingerTimer?.cancel()
        lingerTimer = nil
        resumeTimer?.cancel()
        resumeTimer = nil
        socketReader?.invalidate()
        socketReader = nil
        if let bev {
            bufferevent_setcb(bev, nil, nil, nil, nil)
            bufferevent_disable(bev, Int16(EV_READ | EV_WRITE))
            bufferevent_free(bev)
        }
        bev = nil
        let handler = self.handler
        self.handler = nil
        handler?.connectionDidClose(self, reason: reason)
        let observer = closeObserver
        closeObserver = nil
        observer?(self)
        selfRetain?.release()
        selfRetain = nil
    }

    // MARK: Callbacks

    func readable() {
        if phase == .lingering {
            drainInput(inputCount)
            return
        }
        handler?.connectionDidRead(self)
    }

    func drained() {
        switch phase {
        case .flushing, .lingering:
            if outputCount == 0 { startLinger() }
        case .open:
            handler?.connectionDidDrain(self)
        case .closed:
            break
        }
    }

    fileprivate func event(_ what: Int16) {
        connecting = false
        if what & Int16(BEV_EVENT_CONNECTED) != 0 {
            handler?.connectionDidConnect(self)
            return
        }
        let lingering = phase == .lingering
        if what & Int16(BEV_EVENT_EOF) != 0 {
            finish(.peerClosed)
        } else if what & Int16(BEV_EVENT_ERROR) != 0 {
            let err = flushError != 0 ? flushError : errno
            if what & Int16(BEV_EVENT_WRITING) != 0 && !lingering { salvageInput() }
            finish(lingering ? .peerClosed : .error(err))
        } else if what & Int16(BEV_EVENT_TIMEOUT) != 0 {
            finish(.timeout)
        }
    }
}

private func connectionReadCallback(_ bev: OpaquePointer?, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<Connection>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(connection) { connection.readable() }
}

private func connectionWriteCallback(_ bev: OpaquePointer?, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<Connection>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(connection) { connection.drained() }
}

private func connectionEventCallback(_ bev: OpaquePointer?, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<Connection>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(connection) { connection.event(what) }
}
