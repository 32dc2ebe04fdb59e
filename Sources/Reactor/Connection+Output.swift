import CLibevent

/// Output: appended once to the bufferevent's buffer and written from there, at the end of the
/// current loop callback on a plain socket (`+Flush`), by the bufferevent otherwise.
extension Connection {
    public func write(_ bytes: UnsafeRawBufferPointer) {
        loop.preconditionInEventLoop()
        guard let bev, phase != .lingering, bytes.count > 0 else { return }
        bufferevent_write(bev, bytes.baseAddress, bytes.count)
        bytesOut += bytes.count
        queueFlush()
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Bytes written but not yet taken by the kernel.
    public var outputCount: Int {
        guard let bev else { return 0 }
        return evbuffer_get_length(bufferevent_get_output(bev))
    }

    /// `connectionDidDrain` is called when the output falls to this many bytes.
    public func setOutputLowWater(_ bytes: Int) {
        guard let bev else { return }
        outputLowWater = bytes
        bufferevent_setwatermark(bev, Int16(EV_WRITE), bytes, 0)
    }
}
