import ExecModel
import Glibc

/// The caller's own recordings in `--record-dir`, for the web terminal's player.
///
/// Ownership: a recording belongs to the user its header names (`execbridge.user`, written by the
/// gateway from the session's authenticated identity), compared exactly. The file name's user part
/// (`RecordingFileName.safe`) only narrows the search: two users can share it (`a.b`, `a_b`), the
/// header cannot lie. An id is a file name of the gateway's own shape, never a path.
struct RecordingLibrary: Sendable {
    struct Entry: Equatable, Sendable {
        var id: String
        var timestamp: Int
        var width: Int
        var height: Int
        var command: String
        var target: String
        var bytes: Int
    }

    enum Lookup: Equatable {
        case found([UInt8])
        case notFound
        case tooLarge(Int)
    }

    let directory: String

    static let maxListed = 100
    static let maxScanned = 10_000
    static let maxHeaderBytes = 16 * 1024
    /// A recording is sent whole to the browser: past this the player is not the right tool.
    static let maxServedBytes = 16 * 1024 * 1024

    /// `20261206T022834Z-1f2e3d4c5b6a7980-alice.cast` (`RecordingFileName.make`), and nothing else.
    static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard bytes.count >= 41, bytes.count <= 40 + RecordingFileName.maxUserLength + 5 else { return false }
        func digits(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        let hex = bytes[17..<33].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        guard digits(0..<8), bytes[8] == UInt8(ascii: "T"), digits(9..<15), bytes[15] == UInt8(ascii: "Z"),
              bytes[16] == UInt8(ascii: "-"), hex, bytes[33] == UInt8(ascii: "-"), id.hasSuffix(".cast") else { return false }
        let user = bytes[34..<(bytes.count - 5)]
        return !user.isEmpty && user.first != UInt8(ascii: ".") && user.allSatisfy { byte in
            (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || "-_.".utf8.contains(byte)
        }
    }

    /// The newest `maxListed` recordings whose header names `user`.
    func list(for user: String) -> [Entry] {
        let suffix = "-" + RecordingFileName.safe(user) + ".cast"
        var names: [String] = []
        guard let dir = opendir(directory) else { return [] }
        var scanned = 0
        while scanned < Self.maxScanned, let entry = readdir(dir) {
            scanned += 1
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasSuffix(suffix), Self.isValidID(name) { names.append(name) }
        }
        closedir(dir)
        var entries: [Entry] = []
        for name in names.sorted(by: >) {
            guard entries.count < Self.maxListed else { break }
            guard let file = open(name), let header = file.header, header.user == user else { continue }
            entries.append(Entry(id: name, timestamp: header.timestamp, width: header.width, height: header.height,
                                 command: header.command, target: header.target, bytes: file.size))
        }
        return entries
    }

    /// The whole file, when it is `user`'s.
    func read(_ id: String, for user: String) -> Lookup {
        guard Self.isValidID(id), id.hasSuffix("-" + RecordingFileName.safe(user) + ".cast") else { return .notFound }
        let fd = Glibc.open(directory + "/" + id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return .notFound }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return .notFound }
        guard info.st_size <= Self.maxServedBytes else { return .tooLarge(Int(info.st_size)) }
        guard let bytes = SmallFile.read(fd: fd, limit: Self.maxServedBytes, chunk: 64 * 1024),
              let header = Header(firstLineOf: bytes), header.user == user else { return .notFound }
        return .found(bytes)
    }

    /// The header and the size of one file (nil header: not a recording, or not finished enough).
    private func open(_ name: String) -> (header: Header?, size: Int)? {
        let fd = Glibc.open(directory + "/" + name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var buffer = [UInt8](repeating: 0, count: Self.maxHeaderBytes)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return (nil, Int(info.st_size)) }
        return (Header(firstLineOf: Array(buffer[0..<n])), Int(info.st_size))
    }

    /// What the list shows of an asciicast header (`Asciicast.header`).
    struct Header {
        var user: String
        var timestamp: Int
        var width: Int
        var height: Int
        var command: String
        var target: String

        init?(firstLineOf bytes: [UInt8]) {
            guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")),
                  let value = try? JSONValue.parse(bytes[..<end], maxDepth: 8),
                  let own = value["execbridge"], let user = own["user"]?.stringValue else { return nil }
            self.user = user
            timestamp = Int(value["timestamp"]?.numberValue ?? 0)
            width = Int(value["width"]?.numberValue ?? 0)
            height = Int(value["height"]?.numberValue ?? 0)
            command = value["command"]?.stringValue ?? ""
            let target = own["target"]
            self.target = ["namespace", "pod", "container"].compactMap { target?[$0]?.stringValue }.joined(separator: "/")
        }
    }
}
