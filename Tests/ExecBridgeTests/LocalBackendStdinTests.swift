import ExecBridge
import ExecModel
import Glibc
import XCTest

final class LocalBackendStdinTests: XCTestCase {
    /// 10 MiB through `cat`, fed the way the bridge feeds it: stop when the session holds more than
    /// 256 KiB, go on at `endpointDidDrain`, half-close at the end.
    func testCatEchoesTenMebibytesWithBackpressure() {
        let total = 10 << 20
        let budget = 256 << 10
        let chunk = 64 << 10
        var input = [UInt8](repeating: 0, count: total)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in 0..<total {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            input[index] = UInt8(truncatingIfNeeded: state)
        }

        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        let session = LocalBackend(inventory: nil).startProcessSession(
            LocalBackendHarness.request(["cat"], stdin: true), on: harness.loop, delegate: recorder)
        var sent = 0
        var received = 0
        var mismatchAt: Int?
        var outputHash = FNV1a()
        var peakPending = 0
        var halfClosed = false
        input.withUnsafeBytes { source in
            func feed() {
                while sent < total, session.pendingBytes <= budget {
                    let count = min(chunk, total - sent)
                    session.receive(.data(.stdin, UnsafeRawBufferPointer(rebasing: source[sent..<sent + count])))
                    sent += count
                    peakPending = max(peakPending, session.pendingBytes)
                }
                if sent == total, !halfClosed {
                    halfClosed = true
                    session.receive(.halfClose(.stdin))
                }
            }
            recorder.onDrain = { feed() }
            recorder.onData = { channel, bytes in
                guard channel == .stdout else { return }
                if mismatchAt == nil, received + bytes.count <= total,
                   memcmp(bytes.baseAddress!, source.baseAddress! + received, bytes.count) != 0 {
                    mismatchAt = received
                }
                outputHash.add(bytes)
                received += bytes.count
            }
            feed()
            XCTAssertTrue(harness.run(until: { recorder.status != nil }, limit: 120))
        }
        var inputHash = FNV1a()
        input.withUnsafeBytes { inputHash.add($0) }
        XCTAssertEqual(received, total)
        XCTAssertNil(mismatchAt)
        XCTAssertEqual(outputHash.value, inputHash.value)
        XCTAssertEqual(recorder.status, .success)
        XCTAssertGreaterThan(recorder.drains, 0, "the pipe never filled: backpressure was not exercised")
        XCTAssertLessThanOrEqual(peakPending, budget + chunk)
        XCTAssertEqual(session.pendingBytes, 0)
    }

    func testStdinSentBeforeTheProcessStartsIsDelivered() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        let session = LocalBackend(inventory: nil).startProcessSession(
            LocalBackendHarness.request(["cat"], stdin: true), on: harness.loop, delegate: recorder)
        Array("early bytes\n".utf8).withUnsafeBytes { session.receive(.data(.stdin, $0)) }
        session.receive(.halfClose(.stdin))
        XCTAssertNil(session.pid, "started before the next loop turn")
        harness.run(until: { recorder.status != nil })
        XCTAssertEqual(recorder.stdoutText, "early bytes\n")
        XCTAssertEqual(recorder.status, .success)
    }

    func testChildClosingItsStdinReleasesTheBufferedBytes() {
        // `head -c 1` reads one byte and exits, then the shell closes its stdin: what is still
        // queued can never be delivered, and the bridge must not stay paused waiting for it.
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        let session = LocalBackend(inventory: nil, graceSeconds: 0.1).startProcessSession(
            LocalBackendHarness.request(["sh", "-c", "head -c 1; exec 0<&-; sleep 1000"], stdin: true),
            on: harness.loop, delegate: recorder)
        let block = [UInt8](repeating: 0x61, count: 512 << 10)
        harness.run(until: { session.pid != nil })
        block.withUnsafeBytes { session.receive(.data(.stdin, $0)) }
        XCTAssertGreaterThan(session.pendingBytes, 0)
        XCTAssertTrue(harness.run(until: { recorder.drains > 0 }))
        XCTAssertEqual(session.pendingBytes, 0)
        harness.run(until: { recorder.stdout.count == 1 })
        XCTAssertEqual(recorder.stdoutText, "a")
        // More stdin after that is dropped, not queued.
        block.withUnsafeBytes { session.receive(.data(.stdin, $0)) }
        XCTAssertEqual(session.pendingBytes, 0)
        session.terminate(.clientGone)
    }

    func testStdinIsNullWhenNotRequested() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["wc", "-c"]))
        XCTAssertEqual(result.stdoutText, "0\n")
    }
}

/// 64-bit FNV-1a, the checksum of the byte stream tests.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var hash = value
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        value = hash
    }
}
