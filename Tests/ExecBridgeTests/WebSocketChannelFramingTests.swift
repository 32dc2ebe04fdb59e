@testable import ExecBridge
import XCTest

/// Byte vectors of the channel framing (spec §6): binary `[channel] + payload`, base64 text
/// `'0'+channel` + standard base64, the v5 close signal, and message size limits.
final class WebSocketChannelFramingTests: XCTestCase {
    private struct Message: Equatable {
        var text: Bool
        var bytes: [UInt8]
    }

    private func write(_ channel: UInt8, _ payload: [UInt8], base64: Bool, maxMessageSize: Int = 32 * 1024) -> [Message] {
        let writer = ChannelMessageWriter(base64: base64, maxMessageSize: maxMessageSize)
        var messages: [Message] = []
        payload.withUnsafeBytes { raw in
            writer.write(channel: channel, raw) { text, head, body in
                messages.append(Message(text: text, bytes: Array(head) + Array(body)))
            }
        }
        return messages
    }

    private enum Read: Equatable {
        case data(UInt8, [UInt8])
        case close(UInt8)
        case failure(ChannelMessageReader.Failure)
    }

    /// Feeds one message in chunks of `split` bytes; data events of one channel are joined.
    private func read(_ message: [UInt8], base64: Bool, closeSignal: Bool = false, split: Int = .max) -> [Read] {
        let reader = ChannelMessageReader(base64: base64, closeSignal: closeSignal, scratchSize: 8)
        var events: [Read] = []
        func emit(_ event: ChannelMessageReader.Event) {
            switch event {
            case .data(let channel, let bytes):
                if case .data(let last, let previous)? = events.last, last == channel {
                    events[events.count - 1] = .data(channel, previous + Array(bytes))
                } else {
                    events.append(.data(channel, Array(bytes)))
                }
            case .closeSignal(let channel):
                events.append(.close(channel))
            }
        }
        reader.start()
        var offset = 0
        message.withUnsafeBytes { raw in
            repeat {
                let n = min(split, message.count - offset)
                do throws(ChannelMessageReader.Failure) {
                    try reader.feed(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n]), emit)
                } catch {
                    events.append(.failure(error))
                }
                offset += n
            } while offset < message.count
        }
        do throws(ChannelMessageReader.Failure) {
            try reader.end(emit)
        } catch {
            events.append(.failure(error))
        }
        return events
    }

    // MARK: Writing

    func testBinaryMessageIsChannelBytePlusPayload() {
        XCTAssertEqual(write(1, Array("hello".utf8), base64: false),
                       [Message(text: false, bytes: [0x01, 0x68, 0x65, 0x6C, 0x6C, 0x6F])])
    }

    func testEmptyPayloadIsTheConnectedMarker() {
        XCTAssertEqual(write(1, [], base64: false), [Message(text: false, bytes: [0x01])])
        XCTAssertEqual(write(3, [], base64: true), [Message(text: true, bytes: Array("3".utf8))])
    }

    func testBase64MessagesMatchKubernetesExamples() {
        // wsstream's doc: "\n" on stdout reads as []byte{49, 67, 103, 61, 61}.
        XCTAssertEqual(write(1, [0x0A], base64: true), [Message(text: true, bytes: [49, 67, 103, 61, 61])])
        XCTAssertEqual(write(0, Array("foo\n".utf8), base64: true), [Message(text: true, bytes: Array("0Zm9vCg==".utf8))])
        XCTAssertEqual(write(2, Array("foobar".utf8), base64: true), [Message(text: true, bytes: Array("2Zm9vYmFy".utf8))])
    }

    func testRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
                       "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            var out = [UInt8](repeating: 0, count: 16)
            let n = Array(plain.utf8).withUnsafeBytes { src in
                out.withUnsafeMutableBytes { ChannelBase64.encode(src, into: $0) }
            }
            XCTAssertEqual(String(decoding: out[..<n], as: UTF8.self), encoded, plain)
            if !plain.isEmpty {
                XCTAssertEqual(read(Array(("1" + encoded).utf8), base64: true), [.data(1, Array(plain.utf8))], encoded)
            }
        }
    }

    func testLongPayloadIsCutInto32KiBMessages() {
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }
        let binary = write(1, payload, base64: false)
        XCTAssertEqual(binary.map(\.bytes.count), [32_768, 32_768, 70_000 - 2 * 32_767 + 1])
        XCTAssertTrue(binary.allSatisfy { $0.bytes.first == 1 && !$0.text })
        XCTAssertEqual(Array(binary.map { $0.bytes.dropFirst() }.joined()), payload)

        let text = write(2, payload, base64: true)
        XCTAssertTrue(text.allSatisfy { $0.bytes.count <= 32 * 1024 && $0.bytes.first == UInt8(ascii: "2") && $0.text })
        let decoded = text.flatMap { message -> [UInt8] in
            guard case .data(2, let bytes)? = read(message.bytes, base64: true).first else { return [] }
            return bytes
        }
        XCTAssertEqual(decoded, payload)
    }

    func testCloseSignal() {
        let writer = ChannelMessageWriter(base64: false)
        var bytes: [UInt8] = []
        writer.writeCloseSignal(channel: 0) { text, head, body in
            XCTAssertFalse(text)
            bytes = Array(head) + Array(body)
        }
        XCTAssertEqual(bytes, [0xFF, 0x00])
    }

    // MARK: Reading

    func testBinaryPayloadStreamsAcrossChunks() {
        let message: [UInt8] = [0x00] + Array("stdin bytes".utf8)
        for split in 1...message.count {
            XCTAssertEqual(read(message, base64: false, split: split), [.data(0, Array("stdin bytes".utf8))], "split \(split)")
        }
    }

    func testBase64DecodesAcrossEveryChunkBoundary() {
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<100).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let message = write(0, payload, base64: true)[0].bytes
        for split in 1...message.count {
            XCTAssertEqual(read(message, base64: true, split: split), [.data(0, payload)], "split \(split)")
        }
    }

    func testBase64IgnoresLineBreaks() {
        XCTAssertEqual(read(Array("0Zm9v\r\nYmFy\n".utf8), base64: true), [.data(0, Array("foobar".utf8))])
    }

    func testInvalidBase64DropsTheRestOfTheMessage() {
        XCTAssertEqual(read(Array("0Zm9v*mFy".utf8), base64: true),
                       [.data(0, Array("foo".utf8)), .failure(.badBase64(channel: 0))])
        XCTAssertEqual(read(Array("0Zm9vY".utf8), base64: true),
                       [.data(0, Array("foo".utf8)), .failure(.badBase64(channel: 0))])
        XCTAssertEqual(read(Array("0Zg==Zg==".utf8), base64: true),
                       [.data(0, Array("f".utf8)), .failure(.badBase64(channel: 0))])
        XCTAssertEqual(read(Array("0Z===".utf8), base64: true), [.failure(.badBase64(channel: 0))])
    }

    func testEmptyMessagesAndBareChannelBytesCarryNothing() {
        XCTAssertEqual(read([], base64: false), [])
        XCTAssertEqual(read([0x01], base64: false), [])
        XCTAssertEqual(read(Array("1".utf8), base64: true), [])
    }

    func testV5CloseSignal() {
        XCTAssertEqual(read([0xFF, 0x00], base64: false, closeSignal: true), [.close(0)])
        XCTAssertEqual(read([0xFF, 0x00], base64: false, closeSignal: true, split: 1), [.close(0)])
        XCTAssertEqual(read([0xFF], base64: false, closeSignal: true), [.failure(.badCloseSignal(length: 1))])
        XCTAssertEqual(read([0xFF, 0x00, 0x00], base64: false, closeSignal: true), [.failure(.badCloseSignal(length: 3))])
        // Before v5, 255 is just a channel number nobody uses.
        XCTAssertEqual(read([0xFF, 0x00], base64: false, closeSignal: false), [.data(255, [0x00])])
    }
}
