import Glibc

/// Reading the small configuration files of the security settings (policy, token file).
enum SecurityFiles {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// What says a file changed: a rewrite in place changes mtime or size, a rename changes the inode.
    struct Signature: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var mtimeSeconds: Int
        var mtimeNanoseconds: Int
    }

    static func signature(_ path: String) -> Signature? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Signature(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                         mtimeSeconds: Int(st.st_mtim.tv_sec), mtimeNanoseconds: Int(st.st_mtim.tv_nsec))
    }

    static func readBytes(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw Failure(description: "\(path) is larger than \(limit >> 20) MiB") }
        }
        return bytes
    }

    static func readText(_ path: String, limit: Int) throws -> String {
        guard let text = String(validating: try readBytes(path, limit: limit), as: UTF8.self) else {
            throw Failure(description: "\(path) is not UTF-8 text")
        }
        return text
    }
}
