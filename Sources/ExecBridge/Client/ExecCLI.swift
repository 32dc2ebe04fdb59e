import ExecModel
import Glibc
import Reactor

/// `execbridge exec`: one session with an in-repo client, wired to this process's stdin, stdout,
/// stderr and terminal. Returns the exit code: the remote command's, or 1 after a one-line error
/// on stderr (`execbridge: …`, naming the cause), 64 for a usage error, or 128+N when a signal
/// (SIGINT, SIGTERM, SIGHUP) ends it.
public enum ExecCLI {
    public static let usageStatus: Int32 = 64

    public static func run(_ options: ExecCLIOptions) -> Int32 {
        let resolved: ExecCLIOptions.Resolved
        do {
            resolved = try options.resolve()
        } catch ExecCLIError.usage(let message) {
            // Usage errors exit 64 (EX_USAGE), as ArgumentParser's and `serve`'s do.
            let page = options.attach ? "attach" : "exec"
            writeAll(2, Array("Error: \(message)\n  See 'execbridge \(page) --help' for more information.\n".utf8))
            return usageStatus
        } catch {
            return fail(error)
        }
        Reactor.initializeOnce()
        signal(SIGPIPE, SIG_IGN)
        let session = ExecCLISession(resolved: resolved, options: options)
        return session.run()
    }

    @discardableResult
    static func fail(_ error: Error) -> Int32 {
        writeAll(2, Array("execbridge: \(error)\n".utf8))
        return 1
    }

    /// Blocking write of everything (stdout may be a slow pipe: the loop waits, which is the
    /// backpressure toward the server). False on a write error (EPIPE: the reader went away).
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && errno == EAGAIN {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 1000)
            } else {
                return false
            }
        }
        return true
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }
}
