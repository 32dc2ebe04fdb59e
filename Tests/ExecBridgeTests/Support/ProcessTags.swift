import Foundation
import Glibc

/// Finds test processes by a unique argv tag (e.g. `sleep 912345.4711`) in /proc/*/cmdline.
/// Zombies have an empty command line, so only processes still running are found.
enum ProcessTags {
    /// A `sleep` argument no other process on the machine uses: about ten days, unique digits.
    static func unique() -> String {
        "9\(Int.random(in: 10_000...99_999)).\(getpid())\(Int.random(in: 100...999))"
    }

    static func pids(_ tag: String) -> [pid_t] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), pid != getpid(), let data = readProcFile("/proc/\(name)/cmdline") else { return nil }
            let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return argv.contains(tag) ? pid : nil
        }
    }

    /// Read with plain read(2), not FileManager: Foundation's reader leaks a 4 KiB buffer for every
    /// file that reports size 0, as /proc files do (LeakSanitizer: 7 MB over the suite).
    static func readProcFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Polls (no loop) until no process carries `tag`; false when `limit` seconds pass first.
    static func waitUntilGone(_ tag: String, limit: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(limit)
        while Date() < deadline {
            if pids(tag).isEmpty { return true }
            usleep(20_000)
        }
        return pids(tag).isEmpty
    }

    /// Polls until a process carries `tag`.
    static func waitUntilRunning(_ tag: String, limit: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(limit)
        while Date() < deadline {
            if !pids(tag).isEmpty { return true }
            usleep(10_000)
        }
        return false
    }

    /// Kills whatever a failed test left behind.
    static func cleanUp(_ tags: [String]) {
        for tag in tags { for pid in pids(tag) { kill(pid, SIGKILL) } }
    }
}
