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
        guard evbuffer_get_length(output) > 0 else { return }
        // The bufferevent keeps its output's start frozen outside its own writes.
        evbuffer_unfreeze(output, 1)
        let written = evbuffer_write(output, fd)
        let failure = errno
        evbuffer_freeze(output, 1)
        // EAGAIN or an error: the bufferevent's own write meets it and reports it (with this error).
        if written < 0, failure != EAGAIN, failure != EINTR, flushError == 0 { flushError = failure }
        guard written > 0, evbuffer_get_length(output) <= outputLowWater else { return }
        drained()
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
    }
}
