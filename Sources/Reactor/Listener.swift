import CLibevent
import Glibc

/// A listening socket on one loop. Several loops may each hold a listener on the same port
/// (SO_REUSEPORT); the kernel spreads connections across them.
public final class Listener {
    private var listener: OpaquePointer?
    private let onAccept: (Int32, SocketAddress) -> Void
    public let address: SocketAddress

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
    }

    /// Stops accepting and closes the socket.
    public func close() {
        if let listener { evconnlistener_free(listener) }
        listener = nil
    }

    public func pause() { if let listener { evconnlistener_disable(listener) } }
    public func resume() { if let listener { evconnlistener_enable(listener) } }

    deinit { close() }

    fileprivate func accepted(_ fd: Int32, _ peer: SocketAddress) { onAccept(fd, peer) }
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
