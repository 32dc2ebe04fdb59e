@testable import ExecBridge
import XCTest

/// A transcript in `Compat/transcripts/`: connection blocks of `TraceRecord` lines, comments ignored.
struct TranscriptFile {
    struct Connection {
        var generation: TraceGeneration
        var records: [TraceRecord]
    }

    let name: String
    var connections: [Connection] = []

    init(path: String) throws {
        name = String(path.split(separator: "/").last ?? "")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var current: Connection?
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("# connection ") {
                let words = line.split(separator: " ")
                guard words.count >= 4, let generation = TraceGeneration(rawValue: String(words[3])) else {
                    throw TranscriptError("\(name):\(number + 1): bad connection line")
                }
                current = Connection(generation: generation, records: [])
            } else if line.hasPrefix("# end connection") {
                if let done = current { connections.append(done) }
                current = nil
            } else if line.hasPrefix("#") || line.isEmpty {
                continue
            } else {
                guard let record = TraceRecord(line: line) else {
                    throw TranscriptError("\(name):\(number + 1): not a record: \(line)")
                }
                current?.records.append(record)
            }
        }
    }

    /// Every `*.txt` of the repository's `Compat/transcripts/`.
    static func all(file: StaticString = #filePath) throws -> [String] {
        var parts = "\(file)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3) // Tests/ExecBridgeTests/<file>
        let directory = parts.joined(separator: "/") + "/Compat/transcripts"
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".txt") }.sorted()
            .map { directory + "/" + $0 }
    }
}

struct TranscriptError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The server side of a transcript reduced to what must not depend on timing: per stream, the
/// frames in order with DATA runs joined and end-of-stream as its own item; PING and WINDOW_UPDATE
/// (timing and chunking) left out, and over HTTP/2 GOAWAY too (the gateway sends it only when the
/// client has not closed within the linger time); which stream's frames came first left out.
enum TranscriptNormalizer {
    static func ignored(_ record: TraceRecord) -> Bool {
        record.type == "PING" || record.type == "WINDOW_UPDATE" || (record.generation == "h2" && record.type == "GOAWAY")
    }

    static func serverView(_ records: [TraceRecord]) -> [String: [String]] {
        var view: [String: [String]] = [:]
        var pendingData: [String: (length: Int, bytes: [UInt8], complete: Bool)] = [:]
        func flush(_ stream: String) {
            guard let data = pendingData.removeValue(forKey: stream) else { return }
            guard data.length > 0 else { return }
            var item = "DATA len=\(data.length)"
            if data.complete { item += " data=" + TraceRecord.encode(data.bytes, forceQuotes: true) }
            view[stream, default: []].append(item)
        }
        for record in records where record.direction == .toClient && !ignored(record) {
            let stream = record["stream"] ?? "0"
            let flags = record["flags"] ?? "-"
            let ends = flags.split(separator: "|").contains { $0 == "FIN" || $0 == "END_STREAM" }
            if record.type == "DATA" {
                var data = pendingData[stream] ?? (0, [], true)
                let length = Int(record["len"] ?? "0") ?? 0
                data.length += length
                if let bytes = record.bytes("data") { data.bytes += bytes } else if length > 0 { data.complete = false }
                pendingData[stream] = data
            } else {
                flush(stream)
                var copy = record
                copy.fields.removeAll { $0.key == "flags" }
                let rest = flags.split(separator: "|").filter { $0 != "FIN" && $0 != "END_STREAM" && $0 != "END_HEADERS" }
                if !rest.isEmpty { copy.fields.insert(.init("flags", rest.joined(separator: "|")), at: 0) }
                view[stream, default: []].append(copy.type + " " + copy.fields.map { "\($0.key)=\(TraceRecord.encode($0.value))" }
                    .joined(separator: " "))
            }
            if ends {
                flush(stream)
                view[stream, default: []].append("END")
            }
        }
        for stream in Array(pendingData.keys) { flush(stream) }
        return view
    }

    /// What a replay waits for before its next client frame: per stream, frames other than DATA,
    /// DATA bytes, and ends (so that chunking does not matter).
    static func progress(_ records: some Sequence<TraceRecord>) -> [String: Int] {
        var counts: [String: Int] = [:]
        for record in records where record.direction == .toClient && !ignored(record) {
            let stream = record["stream"] ?? "0"
            if record.type == "DATA" {
                counts["\(stream) bytes", default: 0] += Int(record["len"] ?? "0") ?? 0
            } else {
                counts["\(stream) \(record.type)", default: 0] += 1
            }
            let flags = record["flags"] ?? "-"
            if flags.split(separator: "|").contains(where: { $0 == "FIN" || $0 == "END_STREAM" }) {
                counts["\(stream) end", default: 0] += 1
            }
        }
        return counts
    }
}
