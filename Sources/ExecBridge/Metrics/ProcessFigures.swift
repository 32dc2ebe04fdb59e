import Glibc

/// The gateway process's resident memory and open descriptors, read at scrape time from /proc
/// (nil where /proc is not mounted).
struct ProcessFigures {
    var residentBytes: Int?
    var openFds: Int?

    static func read() -> ProcessFigures {
        ProcessFigures(residentBytes: residentBytes(status: statusText()), openFds: countOpenFds())
    }

    /// `VmRSS:     1234 kB` of /proc/self/status.
    static func residentBytes(status: String?) -> Int? {
        guard let status else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    private static func statusText() -> String? {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        // The file is a few kB; the bound keeps a surprise from growing without end.
        while bytes.count < 64 * 1024 {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Entries of /proc/self/fd, less the one opendir itself holds.
    private static func countOpenFds() -> Int? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [UInt8(ascii: ".")], name != [UInt8(ascii: "."), UInt8(ascii: ".")] { count += 1 }
        }
        return max(0, count - 1)
    }
}
