/// A container's main process, what `attach` connects to: started with the gateway like a
/// container's entrypoint, and restarted per `restartPolicy`.
///
/// ```yaml
/// command: [sh, -c, 'while read line; do echo "got $line"; done']
/// tty: false          # a real pty when true (stderr merges into it)
/// stdin: true         # attachers may write to it; without it their input is ignored (as kubelet does)
/// stdinOnce: false    # true: the first attacher to end its input closes the process's stdin
/// restartPolicy: Always   # Always | OnFailure | Never
/// ```
public struct MainProcessSpec: Equatable, Sendable {
    /// When a main process that ended is started again (Kubernetes' pod `restartPolicy`).
    public enum RestartPolicy: String, Sendable, CaseIterable {
        case always = "Always"
        case onFailure = "OnFailure"
        case never = "Never"
    }

    /// argv, run without a shell, with the container's user, environment and working directory.
    public var command: [String]
    public var tty: Bool
    public var stdin: Bool
    public var stdinOnce: Bool
    public var restartPolicy: RestartPolicy

    /// Bounds on `command`: configuration, not data.
    public static let maximumArguments = 1024
    public static let maximumArgumentBytes = 64 * 1024

    public init(command: [String], tty: Bool = false, stdin: Bool = false, stdinOnce: Bool = false,
                restartPolicy: RestartPolicy = .always) {
        self.command = command
        self.tty = tty
        self.stdin = stdin
        self.stdinOnce = stdinOnce
        self.restartPolicy = restartPolicy
    }
}
