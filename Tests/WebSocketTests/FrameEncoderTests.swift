import WebSocket
import XCTest

/// RFC 6455 §5.7 examples, byte for byte.
final class FrameEncoderTests: XCTestCase {
    func testSingleFrameUnmaskedText() {
        XCTAssertEqual(frame(.text, [UInt8]("Hello")), [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
    }

    func testSingleFrameMaskedText() {
        XCTAssertEqual(frame(.text, [UInt8]("Hello"), key: testKey),
                       [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    }

    func testFragmentedUnmaskedText() {
        XCTAssertEqual(frame(.text, fin: false, [UInt8]("Hel")), [0x01, 0x03, 0x48, 0x65, 0x6C])
        XCTAssertEqual(frame(.continuation, [UInt8]("lo")), [0x80, 0x02, 0x6C, 0x6F])
    }

    func testPingAndMaskedPong() {
        XCTAssertEqual(frame(.ping, [UInt8]("Hello")), [0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        XCTAssertEqual(frame(.pong, [UInt8]("Hello"), key: testKey),
                       [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    }

    func testExtendedLengthHeaders() {
        var header = [UInt8](repeating: 0, count: WebSocketFrameEncoder.maxHeaderLength)
        func write(_ length: Int, key: WebSocketMaskingKey? = nil) -> [UInt8] {
            let count = header.withUnsafeMutableBytes {
                WebSocketFrameEncoder.writeHeader(opcode: .binary, fin: true, payloadLength: length, maskingKey: key, into: $0)
            }
            XCTAssertEqual(count, WebSocketFrameEncoder.headerLength(payloadLength: length, masked: key != nil))
            return Array(header[..<count])
        }
        XCTAssertEqual(write(256), [0x82, 0x7E, 0x01, 0x00])
        XCTAssertEqual(write(65536), [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00])
        XCTAssertEqual(write(125), [0x82, 0x7D])
        XCTAssertEqual(write(126), [0x82, 0x7E, 0x00, 0x7E])
        XCTAssertEqual(write(65535), [0x82, 0x7E, 0xFF, 0xFF])
        XCTAssertEqual(write(256, key: testKey), [0x82, 0xFE, 0x01, 0x00, 0x37, 0xFA, 0x21, 0x3D])

        let payload = [UInt8](repeating: 0xAB, count: 256)
        let whole = frame(.binary, payload)
        XCTAssertEqual(Array(whole[..<4]), [0x82, 0x7E, 0x01, 0x00])
        XCTAssertEqual(Array(whole[4...]), payload)
    }

    func testMaskingInSlicesMatchesWhole() {
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let whole = frame(.binary, payload, key: testKey)
        let maskedPayload = Array(whole[8...])
        // Masking the payload in odd-sized slices, each with its key offset, gives the same bytes.
        var sliced = [UInt8](repeating: 0, count: payload.count)
        var start = 0
        for size in [1, 3, 5, 11, 17, 64, 899] {
            payload.withUnsafeBytes { source in
                sliced.withUnsafeMutableBytes { destination in
                    WebSocketFrameEncoder.mask(UnsafeRawBufferPointer(rebasing: source[start..<(start + size)]),
                                               into: UnsafeMutableRawBufferPointer(rebasing: destination[start...]),
                                               key: testKey, keyOffset: start)
                }
            }
            start += size
        }
        XCTAssertEqual(start, payload.count)
        XCTAssertEqual(sliced, maskedPayload)
        // Masking twice restores the payload (in place).
        maskedPayload.withUnsafeBytes { source in
            sliced.withUnsafeMutableBytes { WebSocketFrameEncoder.mask(source, into: $0, key: testKey) }
        }
        XCTAssertEqual(sliced, payload)
        XCTAssertEqual(maskedPayload[0], payload[0] ^ 0x37)
        XCTAssertEqual(maskedPayload[5], payload[5] ^ 0xFA)
    }

    func testClosePayload() {
        XCTAssertEqual(WebSocketFrameEncoder.closePayload(code: .normalClosure, reason: "bye"), [0x03, 0xE8] + [UInt8]("bye"))
        XCTAssertEqual(WebSocketFrameEncoder.closePayload(code: nil, reason: "ignored"), [])
        // Cut at a character boundary: 61 two-byte characters fit in 123 bytes, not 62.
        let long = String(repeating: "é", count: 100)
        XCTAssertEqual(WebSocketFrameEncoder.closePayload(code: .goingAway, reason: long).count, 2 + 122)
    }
}
