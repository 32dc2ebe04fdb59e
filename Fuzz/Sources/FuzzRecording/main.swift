@testable import ExecBridge
@testable import ExecModel
import FuzzSupport

// What the recorder writes from a session's bytes: the UTF-8 carry across arbitrary chunk cuts,
// and asciicast event lines, which must stay one valid JSON array whatever the command printed.
// Also the /proc/net/tcp reader of the one-gateway-per-address check, on the same bytes as text.
fuzzMain { bytes in
    let input = FuzzInput(bytes)
    var carry = UTF8Carry()
    var text = ""
    input.chunks(of: Int(input.selector % 7) + 1) { text += carry.decode($0) }
    text += carry.flush()
    let whole = String(decoding: input.rest, as: UTF8.self)
    // Valid UTF-8 comes out unchanged however it was cut (anything else becomes valid text with
    // U+FFFD, which String guarantees).
    if String(validating: input.rest, as: UTF8.self) != nil {
        expect(text == whole, "carry changed valid UTF-8: \(Array(input.rest))")
    }

    let line = Asciicast.event(at: Double(input.selector) / 7, "o", text)
    expect(line.hasSuffix("]\n") && !line.dropLast().contains("\n"), "event line broken: \(line.debugDescription)")
    let parsed = try? JSONValue.parse(line.utf8.dropLast(), maxDepth: 4)
    guard case .array(let members)? = parsed, members.count == 3, case .string(let data) = members[2] else {
        return expect(false, "event line is not [time, code, data]: \(line.debugDescription)")
    }
    expect(data == text, "event data does not round-trip: \(text.debugDescription)")
    let budget = Int(input.selector) * 3
    let cut = Asciicast.prefix(text, escapedWithin: budget)
    expect(text.unicodeScalars.starts(with: cut.unicodeScalars), "prefix is not a prefix")
    expect(JSONText.quoted(cut).utf8.count - 2 <= budget, "prefix escapes beyond its budget \(budget)")

    for socket in ListenConflict.parse(whole) {
        expect(socket.address.count <= 16, "address of \(socket.address.count) bytes")
    }
}
