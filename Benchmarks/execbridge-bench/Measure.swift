import Glibc
import Reactor

/// A monotonic clock in seconds.
func now() -> Double { EventLoop.now() }

/// A field of `/proc/<pid>/status` in kB (VmHWM is the peak resident set, VmRSS the current one).
func procStatusKilobytes(_ field: String, pid: String = "self") -> Int? {
    guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix(field + ":") else { continue }
        return Int(text.dropFirst(field.count + 1).filter { $0.isNumber })
    }
    return nil
}

/// CPU time (user + system) this process has used so far, in seconds; children not included.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Latencies of many runs, summarised as the table wants them.
struct Samples {
    private(set) var values: [Double] = []

    mutating func add(_ value: Double) { values.append(value) }

    /// Nearest-rank percentile (p in 0...100) of the sorted values.
    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }

    var median: Double { percentile(50) }
}

/// One result line: `key=value` pairs separated by spaces, read by scripts/bench.
struct ResultLine {
    private var fields: [String] = []

    mutating func add(_ key: String, _ value: Int) { fields.append("\(key)=\(value)") }
    mutating func add(_ key: String, _ value: String) { fields.append("\(key)=\(value)") }
    /// Seconds as milliseconds with three decimals.
    mutating func addMilliseconds(_ key: String, _ seconds: Double) { fields.append("\(key)=\(fixed(seconds * 1000, 3))") }
    mutating func add(_ key: String, _ value: Double, decimals: Int = 1) { fields.append("\(key)=\(fixed(value, decimals))") }

    func print() { Swift.print(fields.joined(separator: " ")) }
}

/// Throughput in MB/s (10^6 bytes per second).
func megabytesPerSecond(_ bytes: Int, _ seconds: Double) -> Double {
    seconds > 0 ? Double(bytes) / seconds / 1e6 : .nan
}

func fixed(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "nan" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if text.contains("e") { return "\(value)" }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    let fraction = parts.count > 1 ? String(parts[1]) : ""
    if decimals == 0 { return String(parts[0]) }
    text = String(parts[0]) + "." + fraction.padding(toLength: decimals, withPad: "0", startingAt: 0)
    return text
}

/// Appends one line per run (`ready_ms end_ms`, `-` when unknown) to a file, so that scripts/bench can take
/// percentiles over several rounds of the same row.
final class SampleLog {
    private let file: UnsafeMutablePointer<FILE>?

    init(path: String?) throws {
        guard let path else {
            file = nil
            return
        }
        guard let opened = fopen(path, "a") else { throw UsageError("cannot open \(path)") }
        file = opened
    }

    deinit { if let file { fclose(file) } }

    func add(ready: Double?, end: Double) {
        guard let file else { return }
        let readyText = ready.map { fixed($0 * 1000, 3) } ?? "-"
        fputs("\(readyText) \(fixed(end * 1000, 3))\n", file)
    }
}
