import ExecModel
import Glibc
import Synchronization

/// Where `serve --trace-frames FILE` writes: one file shared by every loop. Each connection's
/// records are written as one block when the connection ends, so concurrent sessions do not
/// interleave. A write error stops tracing (the gateway itself goes on).
public final class FrameTraceSink: Sendable {
    private let fd: Mutex<Int32>
    private let nextConnection = Atomic<Int>(1)

    /// Opens (truncates) `path`, readable by the gateway's user only: a transcript shows every
    /// command and its output. An existing file gets mode 0600 too (O_CREAT's mode applies only to
    /// a new one).
    public init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0o600)
        guard fd >= 0 else {
            throw ConfigurationError("--trace-frames \(path): \(String(cString: strerror(errno)))")
        }
        guard fchmod(fd, 0o600) == 0 else {
            let error = errno
            close(fd)
            throw ConfigurationError("--trace-frames \(path): cannot make it private (mode 0600): \(String(cString: strerror(error)))")
        }
        self.fd = Mutex(fd)
    }

    deinit {
        fd.withLock { if $0 >= 0 { close($0) } }
    }

    func connectionNumber() -> Int {
        nextConnection.add(1, ordering: .relaxed).oldValue
    }

    func write(block: String) {
        var bytes = Array(block.utf8)
        fd.withLock { fd in
            guard fd >= 0 else { return }
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    close(fd)
                    fd = -1
                    return
                }
                offset += n
            }
        }
        bytes.removeAll()
    }
}
