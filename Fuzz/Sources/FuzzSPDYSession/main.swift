import FuzzSupport
import SPDY

/// A delegate that does nothing with what it is told, except answer opened streams and send
/// some data back (so that flow control and the sending paths run too).
final class Quiet: SPDYSessionDelegate {
    var written = 0
    func spdySession(_ session: SPDYSession, write bytes: UnsafeRawBufferPointer) { written += bytes.count }
    func spdySession(_ session: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {
        // Errors are the session's answers to bad input (already on the wire), not crashes.
        try? session.reply(to: id, headers: [(":status", "200")], fin: false)
        _ = try? session.sendData(Array("out\n".utf8), on: id, fin: false)
    }
    func spdySession(_ session: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {}
    func spdySession(_ session: SPDYSession, didReceiveFin id: UInt32) {
        _ = try? session.sendData([], on: id, fin: true)
    }
    func spdySession(_ session: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}
    func spdySession(_ session: SPDYSession, didFail error: SPDYError) {}
}

// A server-role SPDY session: the frame decoder, header inflation and every session rule.
fuzzMain { bytes in
    let input = FuzzInput(bytes)
    let quiet = Quiet()
    let session = SPDYSession(role: .server, delegate: quiet)
    input.chunks(of: input.chunkSize) { session.receive($0) }
}
