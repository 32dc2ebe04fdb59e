import CLibevent
import Glibc

/// Writing output before the loop waits again.
///
/// A bufferevent writes only when the loop next finds the socket writable: every write waited for
/// the next wait of the loop (and two epoll_ctl calls to arm and disarm the write event). On a relay
/// that is a turn per hop for each set-up step, each relayed DATA frame and the exit status.
/// Instead, a plain socket written to during a pass of the loop (every callback whose event was
/// ready) is written out by one `writev` of everything queued when the pass ends, before the loop
/// waits: what a pass produces still goes out together (writing at the end of each callback
/// instead tripled the writes of a bulk HTTP/2 relay), and none of it waits for another wait.
/// What the kernel does not take stays queued for the bufferevent, which reports errors as before.
///
/// The bufferevent calls the drain callback only after writes of its own, so after a write here
/// that leaves the output at or below the low-water mark, the connection reports the drain itself
/// (producers paused on this output resume; a graceful close proceeds to its half-close).
///
/// The bufferevent's write event is enabled only while output is left over: each append would
/// otherwise arm it (an epoll_ctl, applied at the next wait), the wait would report the socket
/// writable at once with nothing left to write, and disarming it would cost another epoll_ctl and
/// a turn of the loop — per response, per relayed batch. Disabled in the same pass as it was
/// armed, libevent's change list cancels the two and the kernel hears nothing.
extension Connection {
    func queueFlush() {
        guard ssl == nil, !flushQueued else { return }
        flushQueued = true
        loop.queuedFlushes.append(self)
    }

    /// Writes what the kernel takes now.
    func flushQueuedOutput() {
        flushQueued = false
        guard let bev, ssl == nil, !connecting, phase == .open || phase == .flushing else { return }
        let output = bufferevent_get_output(bev)
        if evbuffer_get_length(output) > 0 {
            // The bufferevent keeps its output's start frozen outside its own writes.
            evbuffer_unfreeze(output, 1)
            let written = evbuffer_write(output, fd)
            let failure = errno
            evbuffer_freeze(output, 1)
            // EAGAIN or an error: the bufferevent's own write meets it and reports it (with this error).
            if written < 0, failure != EAGAIN, failure != EINTR, flushError == 0 { flushError = failure }
            if written > 0, evbuffer_get_length(output) <= outputLowWater { drained() }
        }
        // (`drained` may have closed the connection or written more.)
        guard let bev = self.bev, phase == .open || phase == .flushing else { return }
        handOverWrites(bev)
    }

    /// Whether the bufferevent watches for writability (it has output the kernel did not take).
    public var waitsForWritability: Bool {
        guard let bev else { return false }
        return bufferevent_get_enabled(bev) & Int16(EV_WRITE) != 0
    }

    /// Output left over (the kernel's buffer is full, or an error waits to be reported): the
    /// bufferevent writes it when the socket is writable. None: its write event stays off.
    func handOverWrites(_ bev: OpaquePointer) {
        let left = evbuffer_get_length(bufferevent_get_output(bev)) > 0
        if left || flushQueued {
            bufferevent_enable(bev, Int16(EV_WRITE))
        } else {
            bufferevent_disable(bev, Int16(EV_WRITE))
        }
    }
}

extension EventLoop {
    /// Writes out every connection written to during the pass that ended. A drain this reports may
    /// write again, so the list is worked again, a bounded number of times: a handler that writes
    /// on every drain must not hold the loop (what is left goes out after the next pass).
    func flushQueuedWrites() {
        var passes = 0
        while !queuedFlushes.isEmpty && passes < 8 {
            passes += 1
            let connections = queuedFlushes
            queuedFlushes.removeAll(keepingCapacity: true)
            for connection in connections { connection.flushQueuedOutput() }
        }
        // Still queued after the bound: the bufferevents write it, the loop waits for writability.
        for connection in queuedFlushes {
            if let bev = connection.bev { bufferevent_enable(bev, Int16(EV_WRITE)) }
        }
    }
}
