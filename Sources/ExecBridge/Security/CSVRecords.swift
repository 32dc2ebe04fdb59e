/// Records of a CSV file as Go's `encoding/csv` reads them (the reader kube-apiserver uses for
/// `--token-auth-file`): comma-separated, `"`-quoted fields with `""` for a quote, CRLF or LF line
/// ends, blank lines skipped, no trimming, a variable number of fields per record.
/// Errors name the line only: a token file's lines are secrets.
enum CSVRecords {
    struct Failure: Error, Equatable, CustomStringConvertible {
        var line: Int
        var problem: String
        var description: String { "line \(line): \(problem)" }
    }

    static func parse(_ text: String) throws -> [(line: Int, fields: [String])] {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var recordLine = 1
        var inQuotes = false
        var quotedField = false
        var afterQuote = false
        var recordHasContent = false
        let bytes = Array(text.utf8)
        var i = 0

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quotedField = false
            afterQuote = false
        }

        while i < bytes.count {
            let byte = bytes[i]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        i += 2
                        continue
                    }
                    inQuotes = false
                    afterQuote = true
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                i += 1
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                recordHasContent = true
                endField()
            case UInt8(ascii: "\r") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n"):
                break // the LF ends the record
            case UInt8(ascii: "\n"):
                if recordHasContent || !field.isEmpty || quotedField {
                    endField()
                    records.append((recordLine, fields))
                }
                fields.removeAll()
                field.removeAll()
                quotedField = false
                afterQuote = false
                recordHasContent = false
                line += 1
                recordLine = line
            case UInt8(ascii: "\""):
                guard field.isEmpty, !quotedField else {
                    throw Failure(line: line, problem: "bare \" in a field (quote the whole field and double the quote)")
                }
                inQuotes = true
                quotedField = true
                recordHasContent = true
            default:
                if afterQuote {
                    throw Failure(line: line, problem: "extraneous text after a closing quote")
                }
                field.append(byte)
                recordHasContent = true
            }
            i += 1
        }
        if inQuotes { throw Failure(line: recordLine, problem: "a quoted field is never closed") }
        if recordHasContent || !field.isEmpty || quotedField {
            endField()
            records.append((recordLine, fields))
        }
        return records
    }
}
