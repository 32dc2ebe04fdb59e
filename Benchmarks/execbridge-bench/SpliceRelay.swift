import Glibc

/// `splice-relay`: a byte relay between a loopback listener and one upstream port that moves every byte
/// with splice(2) through a pipe, never through user space, one thread per direction. It is the anchor
/// for the relay rows: what any relay, however lean, costs on this machine beside going direct (on two
/// cores the direct client and server already keep both busy; a relay is a third process).
/// Runs until killed.
enum SpliceRelay {
    typealias SpliceFunction = @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32,
                                               UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int
    /// Glibc's module map does not import splice (a GNU extension): found at run time instead.
    static let splice: SpliceFunction? = dlsym(nil, "splice")  // nil: RTLD_DEFAULT
        .map { unsafeBitCast($0, to: SpliceFunction.self) }
    static let moveFlag: UInt32 = 1  // SPLICE_F_MOVE
    static let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ

    static func run(_ args: Arguments) throws {
        let port = try args.int("port")
        let upstream = try args.int("to")
        guard splice != nil else { throw UsageError("splice(2) is not available") }
        // A peer that closes first makes the other direction's splice fail with EPIPE, not kill us.
        signal(SIGPIPE, SIG_IGN)
        let listener = try listen(port: UInt16(port))
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            guard let server = try? connect(port: UInt16(upstream)) else {
                close(client)
                continue
            }
            let link = Link(client, server)
            pump(Direction(from: client, to: server, link: link))
            pump(Direction(from: server, to: client, link: link))
        }
    }

    /// A detached thread that splices one direction until its source ends.
    private static func pump(_ direction: Direction) {
        let box = Unmanaged.passRetained(direction).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { raw in
            let direction = Unmanaged<Direction>.fromOpaque(raw!).takeRetainedValue()
            direction.run()
            return nil
        }, box)
        pthread_detach(thread)
    }

    /// The two sockets of one relayed connection: the second direction to end closes both.
    private final class Link: @unchecked Sendable {
        let sockets: (Int32, Int32)
        private var ended = 0
        private var lock = pthread_mutex_t()
        init(_ a: Int32, _ b: Int32) {
            sockets = (a, b)
            pthread_mutex_init(&lock, nil)
        }
        deinit { pthread_mutex_destroy(&lock) }

        func directionEnded() {
            pthread_mutex_lock(&lock)
            ended += 1
            let last = ended == 2
            pthread_mutex_unlock(&lock)
            if last {
                close(sockets.0)
                close(sockets.1)
            }
        }
    }

    /// Splices `from` into `to` until `from` ends, then half-closes `to`.
    private final class Direction {
        let from: Int32
        let to: Int32
        let link: Link
        init(from: Int32, to: Int32, link: Link) { self.from = from; self.to = to; self.link = link }

        func run() {
            guard let splice = SpliceRelay.splice else { return }
            var pipeEnds: [Int32] = [0, 0]
            guard pipe(&pipeEnds) == 0 else { return }
            defer { close(pipeEnds[0]); close(pipeEnds[1]) }
            _ = fcntl(pipeEnds[1], SpliceRelay.setPipeSize, Int32(1 << 20))
            moving: while true {
                var inPipe = splice(from, nil, pipeEnds[1], nil, 1 << 20, SpliceRelay.moveFlag)
                if inPipe < 0 && errno == EINTR { continue }
                guard inPipe > 0 else { break }
                while inPipe > 0 {
                    let out = splice(pipeEnds[0], nil, to, nil, inPipe, SpliceRelay.moveFlag)
                    if out < 0 && errno == EINTR { continue }
                    guard out > 0 else { break moving }
                    inPipe -= out
                }
            }
            shutdown(to, Int32(SHUT_WR))
            link.directionEnded()
        }
    }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }

    private static func listen(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, Glibc.listen(fd, 64) == 0 else { throw UsageError("cannot listen on port \(port)") }
        return fd
    }

    private static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else {
            if fd >= 0 { close(fd) }
            throw UsageError("cannot connect to port \(port)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }
}
