import CSystem
import Glibc

/// Hands a `LocalLaunchPlan` to `eb_spawn` (CSystem): fork, a new session, the parent-death signal,
/// the user switch, execve (see spawn.c for why it cannot be posix_spawn).
enum ChildSpawner {
    struct Failure: Error {
        /// One of EB_SPAWN_STEP_*.
        var step: Int32
        var error: Int32
    }

    /// Starts the child with `stdio` as its 0/1/2 (-1: /dev/null), or on the pty slave at `ttyPath`.
    static func spawn(_ plan: LocalLaunchPlan, stdio: (Int32, Int32, Int32), ttyPath: String?) -> Result<pid_t, Failure> {
        let groups = plan.account?.groups ?? []
        return plan.executable.withCString { path in
            plan.workingDirectory.withCString { directory in
                withOptionalCString(ttyPath) { tty in
                    withCStringArray(plan.argv) { argv in
                        withCStringArray(plan.environment) { envp in
                            groups.withUnsafeBufferPointer { groupList in
                                var request = eb_spawn_request()
                                request.path = path
                                request.argv = argv
                                request.envp = envp
                                request.working_dir = directory
                                request.stdio = stdio
                                request.tty_path = tty
                                if let account = plan.account {
                                    request.switch_user = 1
                                    request.uid = account.uid
                                    request.gid = account.gid
                                    request.groups = groupList.baseAddress
                                    request.ngroups = groupList.count
                                }
                                var pid: pid_t = 0
                                var step: Int32 = 0
                                let error = eb_spawn(&request, &pid, &step)
                                return error == 0 ? .success(pid) : .failure(Failure(step: step, error: error))
                            }
                        }
                    }
                }
            }
        }
    }

    private static func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let string else { return body(nil) }
        return string.withCString { body($0) }
    }

    /// A NULL-terminated `char *[]` alive for the duration of `body`.
    private static func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
