import CLibFuzzer
import Glibc

/// The body of the current target. libFuzzer calls a C function pointer that cannot capture,
/// so the body lives in a global, set once before the driver starts.
nonisolated(unsafe) private var currentBody: ((UnsafeRawBufferPointer) -> Void)?

/// Runs libFuzzer with `body` as LLVMFuzzerTestOneInput, with the process's arguments
/// (`-runs=`, `-max_total_time=`, corpus directories…), and exits with libFuzzer's status.
public func fuzzMain(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    currentBody = body
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        currentBody?(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
    exit(status)
}

/// Splits fuzz input into a small selector (first byte) and the rest, so that one target can
/// choose between modes (roles, chunk sizes) under the fuzzer's control.
public struct FuzzInput {
    public let selector: UInt8
    public let rest: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) {
        if bytes.isEmpty {
            selector = 0
            rest = bytes
        } else {
            selector = bytes[0]
            rest = UnsafeRawBufferPointer(rebasing: bytes[1...])
        }
    }

    /// Calls `body` with consecutive pieces of `rest` of `size` bytes each (the last may be shorter):
    /// decoders must give the same answer however the input is split.
    public func chunks(of size: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        let step = max(1, size)
        var start = 0
        while start < rest.count {
            let end = min(rest.count, start + step)
            body(UnsafeRawBufferPointer(rebasing: rest[start..<end]))
            start = end
        }
    }

    /// A chunk size from the selector's low bits: whole input, or 1, 2, 3, 7, 64, 1000 bytes.
    public var chunkSize: Int {
        switch selector & 0x7 {
        case 1: return 1
        case 2: return 2
        case 3: return 3
        case 4: return 7
        case 5: return 64
        case 6: return 1000
        default: return Int.max
        }
    }
}

/// A property of the code under test. Unlike `precondition`, its message survives release builds,
/// so a finding says what broke.
public func expect(_ condition: Bool, _ message: @autoclosure () -> String,
                   file: StaticString = #fileID, line: UInt = #line) {
    if condition { return }
    let text = Array("fuzz property failed at \(file):\(line): \(message())\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    abort()
}
