@testable import ExecBridge
import HTTP2
import XCTest

/// The port-forward streams of docs/protocol.md on an `H2MuxClient`: an error stream then a data
/// stream per forwarded connection.
extension H2MuxClient {
    struct PortForwardTunnel {
        var error: Int32
        var data: Int32
    }

    func portForwardHeaders(_ path: String, type: String, port: UInt16, requestID: String) -> [(String, String)] {
        [(":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path),
         ("streamtype", type), ("port", "\(port)"), ("requestid", requestID)]
    }

    /// Opens the error stream (its request ended at once, as clients do), waits for its answer,
    /// then opens the data stream (kept open for the bytes toward the pod).
    func openTunnel(_ path: String = PortForwardFixtures.kubeletPath, port: UInt16,
                    requestID: String) throws -> PortForwardTunnel {
        let error = try open(portForwardHeaders(path, type: "error", port: port, requestID: requestID))
        run { self[error].status != nil }
        let data = try open(portForwardHeaders(path, type: "data", port: port, requestID: requestID), end: false)
        return PortForwardTunnel(error: error, data: data)
    }

    func send(_ bytes: [UInt8], on stream: Int32, end: Bool) throws {
        if !bytes.isEmpty { try h2.sendData(bytes, stream: stream) }
        if end { try h2.endStream(stream) }
        h2.flush()
    }

    /// The tunnel ended: its error stream's body is complete.
    func ended(_ tunnel: PortForwardTunnel) -> Bool { self[tunnel.error].ended || self[tunnel.error].closeCode != nil }
}
