import ExecModel
import Glibc
import Logging
import Reactor

/// `--record-dir`, `--record-max-bytes`, `--record-input`: one asciicast v2 file per session.
public struct RecordingSettings: SessionTapFactory {
    /// An absolute directory once `prepared()` ran.
    public var directory: String
    /// Bytes one session's file may reach; past it one marker event ends the recording (the session goes on).
    public var maxBytes: Int = 64 * 1024 * 1024
    /// Record what the client typed (`"i"` events). Off by default: passwords are typed.
    public var recordInput = false

    /// Hides secrets in the header's `command` by the audit's rules (`--audit-redact`): a recording
    /// is read by more people than the audit log, and argv carries passwords (`mysql -pX`).
    var redactPatterns: [String]?

    public static let minimumMaxBytes = 4096

    public init(directory: String) {
        self.directory = directory
    }

    /// Creates the directory (0700) if absent and proves it writable, so that a gateway that could
    /// not record refuses to start instead of running sessions nobody can replay.
    public func prepared() throws -> RecordingSettings {
        guard maxBytes >= Self.minimumMaxBytes else {
            throw ConfigurationError("--record-max-bytes must be at least \(Self.minimumMaxBytes)")
        }
        guard !directory.isEmpty else { throw ConfigurationError("--record-dir must not be empty") }
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw ConfigurationError("--record-dir \(directory): cannot create it: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw ConfigurationError("--record-dir \(directory): not a directory")
        }
        guard let resolved = realpath(directory, nil) else {
            throw ConfigurationError("--record-dir \(directory): \(String(cString: strerror(errno)))")
        }
        defer { free(resolved) }
        var settings = self
        settings.directory = String(cString: resolved)
        // access(2) says yes to root on a read-only mount; only a real file proves it.
        let probe = settings.directory + "/.execbridge-write-test-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw ConfigurationError("--record-dir \(directory): not writable: \(String(cString: strerror(errno)))")
        }
        close(fd)
        unlink(probe)
        return settings
    }

    /// The header's command is redacted with `patterns` (the `--audit-redact` rules, or the default).
    public func redacting(with patterns: [String]) throws -> RecordingSettings {
        _ = try AuditRedactor(patterns: patterns)
        var settings = self
        settings.redactPatterns = patterns
        return settings
    }

    public func tap(for request: ExecRequest, loop: EventLoop, logger: Logger) -> (any SessionTap)? {
        var shown = request
        // Compiled per session: the redactor's regexes cannot be shared between loops, and a
        // recorded session already costs a file.
        if let redactPatterns, let redactor = try? AuditRedactor(patterns: redactPatterns) {
            shown.command = redactor.redact(argv: request.command)
        }
        return SessionRecorder.begin(self, request: shown, loop: loop, logger: logger)
    }
}
