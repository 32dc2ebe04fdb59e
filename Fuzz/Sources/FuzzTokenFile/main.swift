@testable import ExecBridge
import FuzzSupport

// The token file: Go-compatible CSV records, then the table's own rules (token, user, uid, groups).
fuzzMain { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    if let records = try? CSVRecords.parse(text) {
        for record in records { expect(record.line >= 1, "line \(record.line)") }
    }
    _ = try? TokenTable(csv: text)
}
