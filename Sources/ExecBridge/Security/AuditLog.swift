import Glibc

/// Where audit lines go: a file opened `O_APPEND` (created 0600), or standard output for `-`.
/// Each line is one `write(2)`: with `O_APPEND` the kernel places every write whole at the end, so
/// lines from several loop threads (one descriptor, shared) and several processes never interleave,
/// and a line costs one system call on the loop, nothing buffered that a crash could lose.
public final class AuditLog: Sendable {
    private let fd: Int32
    private let owned: Bool
    public let path: String

    public static func open(_ path: String) throws -> AuditLog {
        if path == "-" { return AuditLog(fd: 1, owned: false, path: path) }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SecurityFiles.Failure(description: "--audit-log \(path): \(String(cString: strerror(errno)))")
        }
        return AuditLog(fd: fd, owned: true, path: path)
    }

    private init(fd: Int32, owned: Bool, path: String) {
        self.fd = fd
        self.owned = owned
        self.path = path
    }

    deinit {
        if owned { close(fd) }
    }

    /// Writes `line` and a newline. Returns false when the line could not be written whole.
    @discardableResult
    func write(line: String) -> Bool {
        var text = line
        text += "\n"
        return text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }
}
