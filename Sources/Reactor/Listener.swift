import CLibevent
import Glibc
import Synchronization

/// A listening socket on one loop. Several loops may each hold a listener on the same port
/// (SO_REUSEPORT); the kernel spreads connections across them.
public final class Listener {
    private var listener: OpaquePointer?
    private let onAccept: (Int32, SocketAddress) -> Void
    /// Called with errno when accept() fails for a reason that retrying at once would not cure
    /// (EMFILE, ENFILE, ENOBUFS…). The listener stays enabled: the owner must pause it, or
    /// libevent calls accept() again on every loop turn (a spin at 100 % CPU).
    public var onError: ((Int32) -> Void)?
    /// SO_RCVBUF and SO_SNDBUF of every accepted socket (0: the kernel's autotuning). Bounds the
    /// kernel memory a paused session can hold.
    public var socketBufferSize = 0
    public let address: SocketAddress
    public private(set) var isPaused = false

    public enum ListenError: Error, CustomStringConvertible {
        case cannotBind(String, String)
        public var description: String {
            switch self {
            case .cannotBind(let address, let reason): return "cannot listen on \(address): \(reason)"
            }
        }
    }

    public init(loop: EventLoop, address: SocketAddress, backlog: Int32 = 1024,
                onAccept: @escaping (Int32, SocketAddress) -> Void) throws {
        self.onAccept = onAccept
        let flags = UInt32(LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC)
        var bound: OpaquePointer?
        // Placeholder until self is fully initialized; fixed below with evconnlistener_set_cb.
        bound = address.withSockaddr { sa, len in
            evconnlistener_new_bind(loop.base, nil, nil, flags, backlog, sa, Int32(len))
        }
        guard let bound else {
            throw ListenError.cannotBind(address.description, String(cString: strerror(errno)))
        }
        listener = bound
        let fd = evconnlistener_get_fd(bound)
        self.address = SocketAddress.local(of: fd) ?? address
        evconnlistener_set_cb(bound, listenerCallback, Unmanaged.passUnretained(self).toOpaque())
        evconnlistener_set_error_cb(bound, listenerErrorCallback)
    }

    /// The listening socket (-1 once closed): its inode tells this process's sockets from others'.
    public var fileDescriptor: Int32 {
        guard let listener else { return -1 }
        return evconnlistener_get_fd(listener)
    }

    /// Stops accepting and closes the socket.
    public func close() {
        if let listener { evconnlistener_free(listener) }
        listener = nil
    }

    public func pause() {
        guard let listener, !isPaused else { return }
        evconnlistener_disable(listener)
        isPaused = true
    }

    public func resume() {
        guard let listener, isPaused else { return }
        evconnlistener_enable(listener)
        isPaused = false
    }

    /// True when a connection waits in the kernel's accept queue (the listener may be paused).
    public var hasPendingConnection: Bool {
        guard let listener else { return false }
        var entry = pollfd(fd: evconnlistener_get_fd(listener), events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0 && entry.revents & Int16(POLLIN) != 0
    }

    deinit { close() }

    fileprivate func accepted(_ fd: Int32, _ peer: SocketAddress) {
        if socketBufferSize > 0 { Socket.boundBuffers(fd, size: socketBufferSize) }
        onAccept(fd, peer)
    }

    fileprivate func failed(_ error: Int32) { onError?(error) }
}

public enum Socket {
    /// The cap for outgoing sockets (upstream connections), set once at startup (0: none).
    public static let outgoingBufferSize = Atomic<Int>(0)

    /// Caps the kernel's receive and send buffers of `fd` (Linux doubles the value for bookkeeping).
    public static func boundBuffers(_ fd: Int32, size: Int = outgoingBufferSize.load(ordering: .relaxed)) {
        guard size > 0 else { return }
        var value = Int32(clamping: size)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}

private func listenerErrorCallback(_ listener: OpaquePointer?, _ arg: UnsafeMutableRawPointer?) {
    let error = errno
    let owner = Unmanaged<Listener>.fromOpaque(arg!).takeUnretainedValue()
    owner.failed(error)
}

private func listenerCallback(_ listener: OpaquePointer?, _ fd: Int32, _ sa: UnsafeMutablePointer<sockaddr>?,
                              _ len: Int32, _ arg: UnsafeMutableRawPointer?) {
    let owner = Unmanaged<Listener>.fromOpaque(arg!).takeUnretainedValue()
    var storage = sockaddr_storage()
    if let sa {
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: min(Int(len), dst.count)))
        }
    }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    owner.accepted(fd, SocketAddress(storage: storage, length: socklen_t(len)))
}
