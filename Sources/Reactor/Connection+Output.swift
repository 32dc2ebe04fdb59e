import CLibevent
import Glibc

/// Output: on an accepted plain socket with nothing queued, sent at once; what the kernel does not
/// take (and everything on TLS, on outgoing connections, or behind queued bytes) is appended once
/// to the bufferevent's buffer and written from there when the socket is writable.
extension Connection {
    public func write(_ bytes: UnsafeRawBufferPointer) {
        loop.preconditionInEventLoop()
        guard let bev, phase != .lingering, let base = bytes.baseAddress, bytes.count > 0 else { return }
        bytesOut += bytes.count
        var sent = 0
        if writesDirectly, evbuffer_get_length(bufferevent_get_output(bev)) == 0 {
            // Queuing first would cost a loop turn and two epoll_ctl calls (arm, then disarm the
            // write event) for bytes the kernel takes now. An error is left to the bufferevent,
            // which meets it again on its own write and reports it as before.
            let n = send(fd, base, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if n < 0, errno != EAGAIN, errno != EINTR, directWriteError == 0 {
                // The kernel reports a reset once; the bufferevent's retry would see EPIPE instead.
                directWriteError = errno
            }
            sent = max(n, 0)
            if sent == bytes.count { return announceDirectDrain() }
        }
        bufferevent_write(bev, base + sent, bytes.count - sent)
    }

    /// The bufferevent tells the handler its output drained after every write it made; a write that
    /// bypassed it must too (producers resume on that news whatever paused them), so the notice
    /// is posted to run later in this loop turn: never inside the caller's write, and without a
    /// poll or timer.
    private func announceDirectDrain() {
        guard !drainNoticePending else { return }
        if drainNotice == nil {
            drainNotice = event_new(loop.base, -1, 0, drainNoticeCallback, Unmanaged.passUnretained(self).toOpaque())
        }
        guard let drainNotice else { return }
        drainNoticePending = true
        event_active(drainNotice, Int32(EV_WRITE), 1)
    }

    fileprivate func drainNoticeFired() {
        drainNoticePending = false
        // As the bufferevent's own rule: only once the output is at or below the low-water mark.
        guard phase != .closed, outputCount <= outputLowWater else { return }
        drained()
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

private func drainNoticeCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let connection = Unmanaged<Connection>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(connection) { connection.drainNoticeFired() }
}
