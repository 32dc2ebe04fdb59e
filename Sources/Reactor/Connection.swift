import CLibevent
import COpenSSL
import Glibc

/// What a connection tells whoever currently speaks on it. The handler can change during the
/// connection's life (the front door hands over to a frontend after an upgrade).
public protocol ConnectionHandler: AnyObject {
    /// Input arrived; consume it with `Connection.consumeInput`.
    func connectionDidRead(_ connection: Connection)
    /// The output fell to the low-water mark (0 unless set): a paused producer may go on.
    func connectionDidDrain(_ connection: Connection)
    /// The peer closed, or an error occurred. Called once; the connection is already closed.
    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason)
    /// An outgoing connection (or a TLS handshake) completed.
    func connectionDidConnect(_ connection: Connection)
}

extension ConnectionHandler {
    public func connectionDidDrain(_ connection: Connection) {}
    public func connectionDidConnect(_ connection: Connection) {}
}

/// A buffered stream socket (plain or TLS) on one loop, wrapping a libevent bufferevent.
///
/// Input is read by the kernel into libevent's buffer and handed to the handler as it is, chunk by
/// chunk, without copying; output is appended once to libevent's buffer and written from there.
/// The input buffer is bounded by a read high-water mark, so a handler that stops consuming stops
/// the socket being read.
public final class Connection {
    public enum CloseReason: Equatable, Sendable {
        case peerClosed
        case error(Int32)
        case timeout
        case local
    }

    public let loop: EventLoop
    public var handler: ConnectionHandler?
    /// Told once when the connection closes, after the handler (the server's connection count).
    public var closeObserver: ((Connection) -> Void)?
    public private(set) var isOpen = true
    public let peer: SocketAddress?
    public let local: SocketAddress?
    public let fd: Int32
    /// Bytes received and sent, for statistics and the audit record.
    public private(set) var bytesIn = 0
    public private(set) var bytesOut = 0

    private var bev: OpaquePointer?
    private var selfRetain: Unmanaged<Connection>?
    private var readPaused = false
    /// Plain sockets are read here, not by the bufferevent: libevent 2.1 reads at most 4 KiB per call
    /// (EVBUFFER_MAX_READ), a loop turn and three syscalls per 4 KiB. TLS stays with bufferevent_openssl.
    private var socketReader: FileEvent?
    private let readHighWater: Int
    private var closeWhenFlushed = false
    private var lingerTimer: LoopTimer?
    private var resumeTimer: LoopTimer?
    private var lingering = false
    private var consuming = false
    private let ssl: OpaquePointer?

    /// Wraps an accepted or connected descriptor (the connection owns it from now on).
    /// With `tls`, the bufferevent runs OpenSSL on the descriptor.
    public init(loop: EventLoop, fd: Int32, tls: TLSContext? = nil, role: TLSContext.Role = .server,
                serverName: String? = nil, readHighWater: Int = 256 * 1024) {
        self.loop = loop
        self.fd = fd
        self.peer = SocketAddress.peer(of: fd)
        self.local = SocketAddress.local(of: fd)
        self.readHighWater = readHighWater
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
            bufferevent_enable(bev, Int16(EV_WRITE))
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
        let rc = address.withSockaddr { sa, len in
            bufferevent_socket_connect(connection.bev, UnsafeMutablePointer(mutating: sa), Int32(len))
        }
        if rc != 0 {
            connection.finish(.error(errno))
            return nil
        }
        return connection
    }

    // MARK: Input

    /// Bytes waiting in the input buffer.
    public var inputCount: Int {
        guard let bev else { return 0 }
        return evbuffer_get_length(bufferevent_get_input(bev))
    }

    /// Hands the buffered input to `body`, chunk by chunk, without copying. `body` returns how many
    /// bytes of the chunk it consumed; consuming less than the whole chunk stops the walk (the rest
    /// stays buffered for the next call). Returns the number of bytes consumed.
    @discardableResult
    public func consumeInput(_ body: (UnsafeRawBufferPointer) -> Int) -> Int {
        guard let bev else { return 0 }
        let input = bufferevent_get_input(bev)
        consuming = true
        defer {
            consuming = false
            if lingering { drainInput(inputCount) }
        }
        var total = 0
        var vectors = [iovec](repeating: iovec(), count: 8)
        while evbuffer_get_length(input) > 0 {
            let n = Int(evbuffer_peek(input, -1, nil, &vectors, Int32(vectors.count)))
            var consumedHere = 0
            for i in 0..<min(n, vectors.count) {
                let chunk = UnsafeRawBufferPointer(start: vectors[i].iov_base, count: vectors[i].iov_len)
                let used = body(chunk)
                consumedHere += used
                if used < chunk.count || self.bev == nil {
                    if self.bev != nil { evbuffer_drain(input, consumedHere) }
                    total += consumedHere
                    bytesIn += total
                    readAgainIfRoom()
                    return total
                }
            }
            evbuffer_drain(input, consumedHere)
            total += consumedHere
            if consumedHere == 0 { break }
        }
        bytesIn += total
        readAgainIfRoom()
        return total
    }

    /// Copies up to `max` input bytes out (for small heads), leaving them buffered.
    public func peekInput(max: Int) -> [UInt8] {
        guard let bev else { return [] }
        let input = bufferevent_get_input(bev)
        let n = min(max, evbuffer_get_length(input))
        var out = [UInt8](repeating: 0, count: n)
        _ = out.withUnsafeMutableBytes { evbuffer_copyout(input, $0.baseAddress, n) }
        return out
    }

    public func drainInput(_ count: Int) {
        guard let bev else { return }
        evbuffer_drain(bufferevent_get_input(bev), count)
        bytesIn += count
        readAgainIfRoom()
    }

    /// Reading stops while the input holds the high-water mark; consuming makes room again.
    private func readAgainIfRoom() {
        guard let socketReader, !socketReader.isEnabled, isOpen, !readPaused || lingering,
              inputCount < readHighWater else { return }
        socketReader.enable()
    }

    /// One read of up to the free input room straight into the input buffer's own memory.
    private func readSocket() {
        guard let bev, isOpen else { return }
        let input = bufferevent_get_input(bev)
        if lingering { evbuffer_drain(input, evbuffer_get_length(input)) }
        let room = readHighWater - evbuffer_get_length(input)
        guard room > 0 else {
            socketReader?.disable()
            return
        }
        // The bufferevent keeps its input's end frozen outside its own reads.
        evbuffer_unfreeze(input, 0)
        var vectors = [iovec](repeating: iovec(), count: 2)
        let count = Int(evbuffer_reserve_space(input, room, &vectors, 2))
        var got = -1
        if count > 0 {
            got = vectors.withUnsafeBufferPointer { readv(fd, $0.baseAddress, Int32(count)) }
            var left = max(got, 0)
            var used = 0
            for i in 0..<count {
                let take = min(left, vectors[i].iov_len)
                vectors[i].iov_len = take
                left -= take
                if take > 0 { used = i + 1 }
            }
            evbuffer_commit_space(input, &vectors, Int32(used))
        }
        let failure = errno
        evbuffer_freeze(input, 0)
        if got == 0 {
            return finish(.peerClosed)
        }
        if got < 0 {
            if failure == EAGAIN || failure == EINTR || count <= 0 { return }
            return finish(lingering ? .peerClosed : .error(failure))
        }
        readable()
    }

    /// Stops reading the socket (backpressure toward the peer); input already buffered stays.
    public func pauseReading() {
        guard let bev, !readPaused else { return }
        readPaused = true
        if let socketReader { socketReader.disable() } else { bufferevent_disable(bev, Int16(EV_READ)) }
    }

    public func resumeReading() {
        guard let bev, readPaused else { return }
        readPaused = false
        if socketReader != nil { readAgainIfRoom() } else { bufferevent_enable(bev, Int16(EV_READ)) }
        // Input that arrived before the pause has no new read event to announce it.
        if inputCount > 0 {
            resumeTimer = LoopTimer(loop: loop, after: 0) { [weak self] in
                guard let self, self.isOpen, !self.readPaused, !self.lingering, self.inputCount > 0 else { return }
                self.handler?.connectionDidRead(self)
            }
        }
    }

    public var isReadingPaused: Bool { readPaused }

    // MARK: Output

    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard let bev, !lingering, bytes.count > 0 else { return }
        bufferevent_write(bev, bytes.baseAddress, bytes.count)
        bytesOut += bytes.count
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Bytes written but not yet taken by the kernel.
    public var outputCount: Int {
        guard let bev else { return 0 }
        return evbuffer_get_length(bufferevent_get_output(bev))
    }

    /// `connectionDidDrain` is called when the output falls to this many bytes.
    public func setOutputLowWater(_ bytes: Int) {
        guard let bev else { return }
        bufferevent_setwatermark(bev, Int16(EV_WRITE), bytes, 0)
    }

    // MARK: Closing

    /// Flushes the output, then half-closes and waits (at most `linger` seconds) for the peer to
    /// close. Closing at once could make the kernel reset a socket whose peer still has unread
    /// data, and the peer would lose the last output (kubernetes/kubernetes#124571).
    public func closeGracefully(linger: Double = 5) {
        guard isOpen, !closeWhenFlushed else { return }
        closeWhenFlushed = true
        lingerTimer = LoopTimer(loop: loop, after: linger) { [weak self] in self?.finish(.timeout) }
        if outputCount == 0 { startLinger() }
    }

    /// Closes now; unsent output is lost.
    public func close() {
        finish(.local)
    }

    private func startLinger() {
        guard let bev, !lingering else { return }
        lingering = true
        if let ssl {
            SSL_shutdown(ssl)
            _ = bufferevent_flush(bev, Int16(EV_WRITE), BEV_FLUSH)
        } else {
            shutdown(fd, Int32(SHUT_WR))
        }
        // Keep reading, and discard, until the peer closes.
        readPaused = false
        if !consuming { drainInput(inputCount) }
        if let socketReader { socketReader.enable() } else { bufferevent_enable(bev, Int16(EV_READ)) }
    }

    func finish(_ reason: CloseReason) {
        guard isOpen else { return }
        isOpen = false
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

    fileprivate func readable() {
        if lingering {
            drainInput(inputCount)
            return
        }
        handler?.connectionDidRead(self)
    }

    fileprivate func drained() {
        if closeWhenFlushed {
            if outputCount == 0 { startLinger() }
            return
        }
        handler?.connectionDidDrain(self)
    }

    fileprivate func event(_ what: Int16) {
        if what & Int16(BEV_EVENT_CONNECTED) != 0 {
            handler?.connectionDidConnect(self)
            return
        }
        if what & Int16(BEV_EVENT_EOF) != 0 {
            finish(.peerClosed)
        } else if what & Int16(BEV_EVENT_ERROR) != 0 {
            let err = EVUTIL_SOCKET_ERROR()
            if what & Int16(BEV_EVENT_WRITING) != 0 && !lingering { salvageInput() }
            finish(lingering ? .peerClosed : .error(err))
        } else if what & Int16(BEV_EVENT_TIMEOUT) != 0 {
            finish(.timeout)
        }
    }

    /// A write failed because the peer reset the connection (it closed with our data unread), but
    /// what it sent before (a last output, an exit status) still waits in the kernel's receive
    /// queue. Hand that to the handler before closing, as a reader that never wrote would see it.
    /// (Plain sockets only: TLS records cannot be read past the bufferevent. Bounded.)
    private func salvageInput() {
        guard let bev, ssl == nil else { return }
        let input = bufferevent_get_input(bev)
        // The bufferevent keeps its input's end frozen outside its own reads.
        evbuffer_unfreeze(input, 0)
        var total = 0
        while total < 4 * 1024 * 1024 {
            let n = evbuffer_read(input, fd, 64 * 1024)
            if n <= 0 { break }
            total += Int(n)
        }
        evbuffer_freeze(input, 0)
        if inputCount > 0 { handler?.connectionDidRead(self) }
    }

    /// The protocol the TLS handshake agreed on by ALPN, if any.
    public var negotiatedALPN: String? {
        guard let ssl else { return nil }
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    public var isTLS: Bool { ssl != nil }

    /// The verified peer certificate's subject CN and O values, when TLS verified one.
    public var peerCertificateSubject: (commonName: String?, organizations: [String])? {
        guard let ssl, let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        guard SSL_get_verify_result(ssl) == X509_V_OK else { return nil }
        let name = X509_get_subject_name(cert)
        func values(_ nid: Int32) -> [String] {
            var out: [String] = []
            var index: Int32 = -1
            while true {
                index = X509_NAME_get_index_by_NID(name, nid, index)
                if index < 0 { break }
                guard let entry = X509_NAME_get_entry(name, index),
                      let data = X509_NAME_ENTRY_get_data(entry) else { continue }
                var utf8: UnsafeMutablePointer<UInt8>?
                let n = ASN1_STRING_to_UTF8(&utf8, data)
                if n >= 0, let utf8 {
                    out.append(String(decoding: UnsafeBufferPointer(start: utf8, count: Int(n)), as: UTF8.self))
                    CRYPTO_free(utf8, #file, #line)
                }
            }
            return out
        }
        return (values(NID_commonName).first, values(NID_organizationName))
    }
}

private func EVUTIL_SOCKET_ERROR() -> Int32 { errno }

/// A client's view of who it talks to: the certificate must name `name` (checked during the
/// handshake when the context verifies peers). A DNS name also goes out as SNI; an IP literal
/// never does (RFC 6066) and must match an IP subjectAltName instead.
private func setPeerName(_ ssl: OpaquePointer?, _ name: String) {
    var v4 = in_addr()
    var v6 = in6_addr()
    if inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1 {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
    } else {
        eb_ssl_set_tlsext_host_name(ssl, name)
        SSL_set1_host(ssl, name)
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
