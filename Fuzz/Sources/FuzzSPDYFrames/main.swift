import FuzzSupport
import SPDY

/// Counts events and checks the decoder's promises: DATA chunks lie inside a begun frame.
final class Checker: SPDYFrameDecoderDelegate {
    var inData = false
    func frameDecoder(_ decoder: SPDYFrameDecoder, didDecode frame: SPDYControlFrame) { expect(!inData, "control frame or DATA inside a DATA frame") }
    func frameDecoder(_ decoder: SPDYFrameDecoder, didReceiveMalformedHeaders type: SPDYControlType,
                      streamID: UInt32, flags: UInt8, error: SPDYError) {}
    func frameDecoder(_ decoder: SPDYFrameDecoder, didBeginData streamID: UInt32, length: Int, fin: Bool) {
        expect(!inData, "control frame or DATA inside a DATA frame")
        inData = true
    }
    func frameDecoder(_ decoder: SPDYFrameDecoder, didReceiveData chunk: UnsafeRawBufferPointer, streamID: UInt32) {
        expect(inData, "DATA event outside a DATA frame")
    }
    func frameDecoder(_ decoder: SPDYFrameDecoder, didEndData streamID: UInt32, fin: Bool) {
        expect(inData, "DATA event outside a DATA frame")
        inData = false
    }
    func frameDecoder(_ decoder: SPDYFrameDecoder, didSkipOversizedData streamID: UInt32, length: Int, fin: Bool) {}
    func frameDecoder(_ decoder: SPDYFrameDecoder, didFail error: SPDYError, streamID: UInt32) {}
}

// SPDY/3.1 frames with header blocks inflated by the shared zlib stream; small limits with the
// selector's high bit, so that the limit paths are reached too.
fuzzMain { bytes in
    let input = FuzzInput(bytes)
    let limits = input.selector & 0x80 == 0 ? SPDYLimits()
        : SPDYLimits(maxHeaderBlockSize: 512, maxControlFrameSize: 256, maxDataFrameSize: 64)
    let decoder = SPDYFrameDecoder(limits: limits)
    let checker = Checker()
    input.chunks(of: input.chunkSize) { decoder.decode($0, delegate: checker) }
}
