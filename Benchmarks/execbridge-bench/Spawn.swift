import Glibc

/// `spawn`: runs a command N times, one after the other, stdin and stdout on /dev/null, and times
/// each run from spawn to reaped exit. For external clients (the Go SPDY client), the `cat` ceiling and
/// the process-start floors.
enum SpawnRuns {
    static func run(_ args: Arguments) throws {
        let count = try args.int("count", default: 1)
        let bytes = try args.size("bytes", default: 0)
        let stderrPath = try args.string("stderr", default: "/dev/null")
        let samples = try SampleLog(path: args.optionalString("samples"))
        // For floors: a client started only to fail fast (connection refused) still shows its start-up cost.
        let anyExit = args.optionalString("any-exit") == "yes"
        let argv = args.trailing
        guard !argv.isEmpty else { throw UsageError("spawn needs a command after --") }

        var times = Samples()
        var failures = 0
        var firstFailure: String?
        let start = now()
        for _ in 0..<count {
            let begin = now()
            let code = try spawnAndWait(argv, stderrPath: stderrPath)
            if code != 0 && !anyExit {
                failures += 1
                if firstFailure == nil { firstFailure = "exit_\(code)" }
                continue
            }
            let elapsed = now() - begin
            times.add(elapsed)
            samples.add(ready: nil, end: elapsed)
        }
        let seconds = now() - start
        var line = ResultLine()
        line.add("count", count)
        line.add("failures", failures)
        line.add("seconds", seconds, decimals: 3)
        line.add("per_second", Double(count) / seconds)
        line.addMilliseconds("run_p50_ms", times.median)
        line.addMilliseconds("run_p99_ms", times.percentile(99))
        if bytes > 0 { line.add("mbps", megabytesPerSecond(bytes * count, seconds)) }
        line.add("ok", failures == 0 ? "yes" : "no")
        if let firstFailure { line.add("failure", firstFailure) }
        line.print()
    }

    /// The exit code, or 128+signal.
    static func spawnAndWait(_ argv: [String], stderrPath: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
        guard rc == 0 else { throw UsageError("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw UsageError("waitpid: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS are macros that do not import.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// `free-port`: a loopback TCP port that is free right now (there is a small window before the
/// caller binds it).
enum FreePort {
    static func run() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UsageError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw UsageError("bind failed") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw UsageError("getsockname failed") }
        print(UInt16(bigEndian: address.sin_port))
    }
}
