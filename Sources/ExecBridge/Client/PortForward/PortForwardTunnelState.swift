import ExecModel

/// What a port-forward tunnel's two streams have said so far, and how the tunnel ends: the
/// server ends the data stream when the pod's side of the connection is done and the error
/// stream after it, with text only on failure (kubelet's `httpStreamHandler.portForward`).
struct PortForwardTunnelState {
    /// More error text than this is dropped: a message, not a stream.
    static let maxErrorText = 64 * 1024

    private(set) var errorText: [UInt8] = []
    var errorEnded = false
    var dataEnded = false

    mutating func appendError(_ bytes: UnsafeRawBufferPointer) {
        let room = Self.maxErrorText - errorText.count
        if room > 0 { errorText.append(contentsOf: bytes.prefix(room)) }
    }

    var isComplete: Bool { errorEnded && dataEnded }

    /// The tunnel's end in the session model: the error text, unchanged, is a failure's message.
    var status: ExecStatus {
        errorText.isEmpty ? .success : Self.failure(String(decoding: errorText, as: UTF8.self))
    }

    static func failure(_ message: String) -> ExecStatus {
        .failure(message: message, reason: "InternalError", code: 500)
    }
}

/// The request id that pairs a tunnel's error and data streams: client-go counts from 0 per
/// connection; any token of [A-Za-z0-9._-] up to 32 characters is accepted (pfwire §4).
struct PortForwardRequestIDs {
    private var next = 0

    mutating func take() -> String {
        defer { next += 1 }
        return String(next)
    }
}
