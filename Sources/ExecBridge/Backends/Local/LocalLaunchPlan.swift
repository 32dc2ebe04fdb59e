import CSystem
import ExecModel
import Glibc

/// Everything decided before a child starts: the executable (found like execvp, but along the
/// child's PATH), argv exactly as requested, the environment, directory and user.
///
/// A command that cannot be started has no exit code. As containerd and runc do, the session then
/// ends with an InternalError Failure Status whose message names the cause; the message texts keep
/// the shell's distinction that 127 and 126 encode:
///   - not found (ENOENT; a shell exits 127): `exec: "x": executable file not found in $PATH`, or
///     `exec: "/p/x": no such file or directory` for a path;
///   - found but not runnable (EACCES, a directory, ENOEXEC; a shell exits 126):
///     `exec: "x": permission denied` / `exec format error`.
/// Exit codes 127 and 126 therefore only ever come from a shell inside the session (`sh -c nope`),
/// passed through unchanged, never invented by the gateway.
struct LocalLaunchPlan {
    var executable: String
    var argv: [String]
    /// `NAME=value`, sorted by name.
    var environment: [String]
    var workingDirectory: String
    /// Set when the child must change user (the gateway is root and another user is asked for).
    var account: UserAccount?

    /// The PATH of the default environment (the one runc and containerd give a container).
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Why a plan could not be made: the session's final status.
    struct Refusal: Error {
        var status: ExecStatus
    }

    /// An errno from the executable search.
    struct SearchError: Error, Equatable {
        var code: Int32
    }

    static func make(command: [String], tty: Bool, container: ContainerSpec?,
                     accounts: [String: Result<UserAccount, UserAccount.Unknown>] = [:]) -> Result<LocalLaunchPlan, Refusal> {
        guard let name = command.first, !name.isEmpty else {
            return .failure(Refusal(status: .internalError("no command given")))
        }
        if command.contains(where: { $0.utf8.contains(0) }) {
            return .failure(Refusal(status: .internalError("the command contains a NUL byte")))
        }

        var account: UserAccount?
        var home = UserAccount.currentHome()
        if let user = container?.user {
            switch accounts[user] ?? UserAccount.resolve(user) {
            case .failure(let error):
                return .failure(Refusal(status: .internalError(error.message)))
            case .success(let resolved):
                home = resolved.home
                if geteuid() == 0 {
                    account = resolved
                } else if resolved.uid != geteuid() {
                    return .failure(Refusal(status: .internalError(
                        "cannot run as user \"\(user)\": the gateway is not running as root")))
                }
            }
        }

        var variables = ["PATH": defaultPath, "HOME": home]
        if tty { variables["TERM"] = "xterm" }
        for (key, value) in container?.env ?? [:] { variables[key] = value }
        let environment = variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }

        let directory = container?.workingDir ?? "/"
        var info = stat()
        if stat(directory, &info) != 0 {
            return .failure(Refusal(status: .internalError("chdir to working directory \"\(directory)\": \(errorText(errno))")))
        }
        if info.st_mode & S_IFMT != S_IFDIR {
            return .failure(Refusal(status: .internalError("chdir to working directory \"\(directory)\": not a directory")))
        }

        switch findExecutable(name, path: variables["PATH"] ?? "", directory: directory) {
        case .failure(let error):
            return .failure(Refusal(status: execFailure(name, error: error.code)))
        case .success(let executable):
            return .success(LocalLaunchPlan(executable: executable, argv: command, environment: environment,
                                            workingDirectory: directory, account: account))
        }
    }

    /// execvp's search: a name with a slash is taken as a path (relative to the child's directory);
    /// otherwise each PATH entry is tried, an empty entry meaning the current directory. EACCES wins
    /// over ENOENT when some candidate existed but could not be run.
    static func findExecutable(_ name: String, path: String, directory: String) -> Result<String, SearchError> {
        func absolute(_ candidate: String) -> String {
            candidate.hasPrefix("/") ? candidate : (directory == "/" ? "/" : directory + "/") + candidate
        }
        if name.contains("/") {
            let candidate = absolute(name)
            let error = runnable(candidate)
            return error == 0 ? .success(candidate) : .failure(SearchError(code: error))
        }
        var sawDenied = false
        for entry in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = absolute((entry.isEmpty ? "." : String(entry)) + "/" + name)
            switch runnable(candidate) {
            case 0: return .success(candidate)
            case EACCES: sawDenied = true
            default: continue
            }
        }
        return .failure(SearchError(code: sawDenied ? EACCES : ENOENT))
    }

    /// 0 when `path` is a file with an execute bit, else the errno execve would give.
    private static func runnable(_ path: String) -> Int32 {
        var info = stat()
        guard stat(path, &info) == 0 else { return errno }
        if info.st_mode & S_IFMT == S_IFDIR { return EACCES }
        return info.st_mode & 0o111 != 0 ? 0 : EACCES
    }

    /// The Failure Status for a command that could not be executed.
    static func execFailure(_ name: String, error: Int32) -> ExecStatus {
        let quoted = "exec: \"\(name)\": "
        switch error {
        case ENOENT where !name.contains("/"):
            return .internalError(quoted + "executable file not found in $PATH")
        default:
            return .internalError(quoted + errorText(error))
        }
    }

    /// The Failure Status for a spawn that failed at `step` (EB_SPAWN_STEP_*) with `error`.
    func spawnFailure(step: Int32, error: Int32) -> ExecStatus {
        switch step {
        case Int32(EB_SPAWN_STEP_CHDIR):
            return .internalError("chdir to working directory \"\(workingDirectory)\": \(errorText(error))")
        case Int32(EB_SPAWN_STEP_CREDENTIALS):
            return .internalError("cannot switch to uid \(account?.uid ?? 0): \(errorText(error))")
        case Int32(EB_SPAWN_STEP_STDIO):
            return .internalError("cannot set up the child's standard streams: \(errorText(error))")
        case Int32(EB_SPAWN_STEP_FORK):
            return .internalError("cannot start a process: \(errorText(error))")
        default:
            return Self.execFailure(argv[0], error: error)
        }
    }
}
