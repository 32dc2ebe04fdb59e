import WebSocket
import XCTest

final class FrameDecoderTests: XCTestCase {
    // MARK: RFC 6455 §5.7 examples

    func testRFCExamples() {
        XCTAssertEqual(decode([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F], role: .client).events,
                       [.start(.text), .data([UInt8]("Hello")), .end])
        XCTAssertEqual(decode([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58], role: .server).events,
                       [.start(.text), .data([UInt8]("Hello")), .end])
        XCTAssertEqual(decode([0x01, 0x03, 0x48, 0x65, 0x6C, 0x80, 0x02, 0x6C, 0x6F], role: .client).events,
                       [.start(.text), .data([UInt8]("Hello")), .end])
        XCTAssertEqual(decode([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F], role: .client).events, [.ping([UInt8]("Hello"))])
        XCTAssertEqual(decode([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58], role: .server).events,
                       [.pong([UInt8]("Hello"))])

        let small = (0..<256).map { UInt8($0) }
        XCTAssertEqual(decode([0x82, 0x7E, 0x01, 0x00] + small, role: .client).events, [.start(.binary), .data(small), .end])
        let big = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let bigFrame = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0] + big
        XCTAssertEqual(decode(bigFrame, role: .client).events, [.start(.binary), .data(big), .end])
        XCTAssertEqual(decode(frame(.binary, big, key: testKey), role: .server, scratchCapacity: 1000).events,
                       [.start(.binary), .data(big), .end])
    }

    func testUnmaskedDataIsHandedOutWithoutCopy() throws {
        let bytes = frame(.binary, [1, 2, 3])
        let decoder = WebSocketFrameDecoder(role: .client)
        try bytes.withUnsafeBytes { all in
            var input = all
            guard case .messageStart(.binary)? = try decoder.next(&input) else { return XCTFail("no start") }
            guard case .data(let chunk)? = try decoder.next(&input) else { return XCTFail("no data") }
            XCTAssertEqual(chunk.baseAddress, all.baseAddress.map { $0 + 2 })
            XCTAssertEqual(chunk.count, 3)
            guard case .messageEnd? = try decoder.next(&input) else { return XCTFail("no end") }
            XCTAssertNil(try decoder.next(&input))
        }
    }

    func testEmptyMessagesAndFrames() {
        XCTAssertEqual(decode(frame(.binary, []), role: .client).events, [.start(.binary), .end])
        let fragments = frame(.text, fin: false, []) + frame(.continuation, fin: false, []) + frame(.continuation, [])
        XCTAssertEqual(decode(fragments, role: .client).events, [.start(.text), .end])
    }

    // MARK: Splitting

    /// A stream touching every header form, masking offsets and interleaving, as a server sees it.
    private func mixedClientStream() -> [UInt8] {
        var bytes = frame(.text, [UInt8]("Hello"), key: testKey)
        bytes += frame(.binary, fin: false, [1, 2, 3], key: WebSocketMaskingKey(1, 2, 3, 4))
        bytes += frame(.ping, [UInt8]("are you there"), key: WebSocketMaskingKey(9, 8, 7, 6))
        bytes += frame(.continuation, fin: false, [], key: testKey)
        bytes += frame(.continuation, (0..<300).map { UInt8(truncatingIfNeeded: $0) }, key: WebSocketMaskingKey(0xFF, 0, 0xFF, 0))
        // A non-minimal 64-bit length (accepted): "héllo" in two fragments split inside "é".
        bytes += [0x01, 0xFF, 0, 0, 0, 0, 0, 0, 0, 2] + [0xA1, 0xB2, 0xC3, 0xD4] + [UInt8(ascii: "h") ^ 0xA1, 0xC3 ^ 0xB2]
        bytes += frame(.continuation, [0xA9] + [UInt8]("llo"), key: testKey)
        bytes += frame(.pong, [], key: testKey)
        bytes += frame(.close, [0x03, 0xE8] + [UInt8]("done"), key: testKey)
        return bytes
    }

    private let mixedEvents: [Recorded] = [
        .start(.text), .data([UInt8]("Hello")), .end,
        .start(.binary), .data([1, 2, 3]), .ping([UInt8]("are you there")),
        .data((0..<300).map { UInt8(truncatingIfNeeded: $0) }), .end,
        .start(.text), .data([UInt8]("héllo")), .end,
        .pong([]), .close(1000, "done"),
    ]

    func testSplitAtEveryByteBoundary() {
        let bytes = mixedClientStream()
        XCTAssertEqual(decode(bytes, role: .server).events, mixedEvents)
        for cut in 0...bytes.count {
            let result = decode(bytes, role: .server, cuts: [cut], scratchCapacity: 7)
            XCTAssertNil(result.error, "cut at \(cut)")
            XCTAssertEqual(result.events, mixedEvents, "cut at \(cut)")
        }
        let everyByte = decode(bytes, role: .server, cuts: Array(1..<bytes.count))
        XCTAssertEqual(everyByte.events, mixedEvents)
    }

    func testSplitAtEveryByteBoundaryUnmasked() {
        let payload = (0..<200).map { UInt8(truncatingIfNeeded: $0 * 3) }
        let bytes = frame(.binary, fin: false, payload) + frame(.ping, [7]) + frame(.continuation, [UInt8]("x"))
        let expected: [Recorded] = [.start(.binary), .data(payload), .ping([7]), .data([UInt8]("x")), .end]
        for cut in 0...bytes.count {
            XCTAssertEqual(decode(bytes, role: .client, cuts: [cut]).events, expected, "cut at \(cut)")
        }
    }

    // MARK: Rules

    private func error(_ bytes: [UInt8], role: WebSocketRole, maxMessageSize: Int = 1 << 20) -> WebSocketProtocolError? {
        let result = decode(bytes, role: role, maxMessageSize: maxMessageSize)
        // Whether the bad bytes arrive whole or one by one, the verdict is the same.
        let split = decode(bytes, role: role, cuts: Array(1..<max(1, bytes.count)), maxMessageSize: maxMessageSize)
        XCTAssertEqual(result.error, split.error)
        return result.error
    }

    func testMaskingRulesPerRole() {
        let unmasked = frame(.binary, [1, 2, 3])
        let masked = frame(.binary, [1, 2, 3], key: testKey)
        XCTAssertEqual(error(unmasked, role: .server)?.closeCode, .protocolError)
        XCTAssertEqual(error(masked, role: .client)?.closeCode, .protocolError)
        XCTAssertNil(error(masked, role: .server))
        XCTAssertNil(error(unmasked, role: .client))
        // Control frames too.
        XCTAssertEqual(error(frame(.ping, []), role: .server)?.closeCode, .protocolError)
        XCTAssertEqual(error(frame(.ping, [], key: testKey), role: .client)?.closeCode, .protocolError)
    }

    func testUnknownOpcodes() {
        for opcode in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8] {
            let result = error([0x80 | opcode, 0x00], role: .client)
            XCTAssertEqual(result?.closeCode, .protocolError, "opcode \(opcode)")
        }
    }

    func testReservedBits() {
        for bits in [0x40, 0x20, 0x10, 0x70] as [UInt8] {
            XCTAssertEqual(error([0x82 | bits, 0x00], role: .client)?.closeCode, .protocolError)
        }
    }

    func testMessageSizeLimit() {
        let limit = 1000
        XCTAssertNil(error(frame(.binary, [UInt8](repeating: 0, count: limit)), role: .client, maxMessageSize: limit))
        XCTAssertEqual(error(frame(.binary, [UInt8](repeating: 0, count: limit + 1)), role: .client, maxMessageSize: limit)?.closeCode,
                       .messageTooBig)
        // Across fragments.
        let fragments = frame(.binary, fin: false, [UInt8](repeating: 0, count: 600))
            + frame(.continuation, [UInt8](repeating: 0, count: 401))
        XCTAssertEqual(error(fragments, role: .client, maxMessageSize: limit)?.closeCode, .messageTooBig)
        // The default limit is 1 MiB, refused from the header alone.
        XCTAssertEqual(error([0x82, 0x7F, 0, 0, 0, 0, 0, 0x10, 0, 1], role: .client)?.closeCode, .messageTooBig)
        // A length with the top bit set is a protocol error, not a size problem.
        XCTAssertEqual(error([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1], role: .client)?.closeCode, .protocolError)
    }

    func testControlFrameRules() {
        XCTAssertEqual(error(frame(.ping, [UInt8](repeating: 1, count: 126)), role: .client)?.closeCode, .protocolError)
        XCTAssertNil(error(frame(.ping, [UInt8](repeating: 1, count: 125)), role: .client))
        XCTAssertEqual(error(frame(.ping, fin: false, [1]), role: .client)?.closeCode, .protocolError)
        XCTAssertEqual(error(frame(.close, fin: false, [0x03, 0xE8]), role: .client)?.closeCode, .protocolError)
        // Length 126 written in the 16-bit form is still too long for a control frame.
        XCTAssertEqual(error([0x89, 0x7E, 0x00, 0x05] + [UInt8]("Hello"), role: .client)?.closeCode, .protocolError)
    }

    func testFragmentationRules() {
        XCTAssertEqual(error(frame(.continuation, [1]), role: .client)?.closeCode, .protocolError)
        XCTAssertEqual(error(frame(.binary, fin: false, [1]) + frame(.binary, [2]), role: .client)?.closeCode, .protocolError)
        XCTAssertEqual(error(frame(.text, fin: false, [1]) + frame(.binary, [2]), role: .client)?.closeCode, .protocolError)
        XCTAssertEqual(error(frame(.binary, [1]) + frame(.continuation, [2]), role: .client)?.closeCode, .protocolError)
    }

    func testInterleavedControlFramesInFragmentedMessage() {
        let bytes = frame(.text, fin: false, [UInt8]("Hel"), key: testKey)
            + frame(.ping, [UInt8]("p"), key: testKey)
            + frame(.continuation, fin: false, [UInt8]("l"), key: testKey)
            + frame(.pong, [], key: testKey)
            + frame(.continuation, [UInt8]("o"), key: testKey)
        XCTAssertEqual(decode(bytes, role: .server).events,
                       [.start(.text), .data([UInt8]("Hel")), .ping([UInt8]("p")), .data([UInt8]("l")), .pong([]),
                        .data([UInt8]("o")), .end])
    }

    func testInvalidUTF8() {
        // "é" split across fragments is fine.
        XCTAssertNil(error(frame(.text, fin: false, [0xC3]) + frame(.continuation, [0xA9]), role: .client))
        // A sequence left unfinished at the end of the message.
        XCTAssertEqual(error(frame(.text, fin: false, [0x41, 0xC3]) + frame(.continuation, []), role: .client)?.closeCode,
                       .invalidFramePayloadData)
        // Broken across the fragment boundary: lead byte, then a non-continuation byte.
        XCTAssertEqual(error(frame(.text, fin: false, [0xE2, 0x82]) + frame(.continuation, [0x41]), role: .client)?.closeCode,
                       .invalidFramePayloadData)
        let bad: [[UInt8]] = [
            [0xFF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80],
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0x80], [0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0xFE],
        ]
        for bytes in bad {
            XCTAssertEqual(error(frame(.text, bytes), role: .client)?.closeCode, .invalidFramePayloadData, "\(bytes)")
        }
        // Fails fast: the bad chunk is not delivered.
        let result = decode(frame(.text, fin: false, [UInt8]("ok")) + frame(.continuation, [0xFF]), role: .client)
        XCTAssertEqual(result.events, [.start(.text), .data([UInt8]("ok"))])
        XCTAssertEqual(result.error?.closeCode, .invalidFramePayloadData)

        let good: [[UInt8]] = [[UInt8]("κόσμε"), [0xF0, 0x9F, 0x98, 0x80], [0xEF, 0xBF, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF], []]
        for bytes in good {
            XCTAssertNil(error(frame(.text, bytes), role: .client), "\(bytes)")
        }
        // Binary messages are not checked.
        XCTAssertNil(error(frame(.binary, [0xFF]), role: .client))
    }

    func testCloseFrames() {
        XCTAssertEqual(decode(frame(.close, []), role: .client).events, [.close(nil, "")])
        XCTAssertEqual(decode(frame(.close, [0x03, 0xE8]), role: .client).events, [.close(1000, "")])
        XCTAssertEqual(decode(frame(.close, [0x0F, 0xA0] + [UInt8]("app"), key: testKey), role: .server).events,
                       [.close(4000, "app")])
        XCTAssertEqual(error(frame(.close, [0x03]), role: .client)?.closeCode, .protocolError)
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] as [UInt16] {
            let payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
            XCTAssertEqual(error(frame(.close, payload), role: .client)?.closeCode, .protocolError, "code \(code)")
        }
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999] as [UInt16] {
            XCTAssertNil(error(frame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)]), role: .client), "code \(code)")
        }
        XCTAssertEqual(error(frame(.close, [0x03, 0xE8, 0xC3]), role: .client)?.closeCode, .invalidFramePayloadData)
    }

    func testFailedDecoderStaysFailed() {
        let decoder = WebSocketFrameDecoder(role: .server)
        let bytes = frame(.binary, [1])
        var errors: [WebSocketProtocolError] = []
        bytes.withUnsafeBytes { (all: UnsafeRawBufferPointer) -> Void in
            for var input in [all, UnsafeRawBufferPointer(rebasing: all[0..<0])] {
                do throws(WebSocketProtocolError) {
                    _ = try decoder.next(&input)
                } catch {
                    errors.append(error)
                }
            }
        }
        XCTAssertEqual(errors.map(\.closeCode), [.protocolError, .protocolError])
    }
}
