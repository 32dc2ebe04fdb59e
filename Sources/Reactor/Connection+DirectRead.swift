import CLibevent
import Glibc

/// The plain socket's read path: one `readv` of up to the free input room straight into the input
/// buffer's own memory, instead of libevent's 4 KiB reads.
extension Connection {
    /// Reading stops while the input holds the high-water mark; consuming makes room again.
    func readAgainIfRoom() {
        guard let socketReader, !socketReader.isEnabled, phase != .closed,
              !readPaused || phase == .lingering, inputCount < readHighWater else { return }
        socketReader.enable()
    }

    func readSocket() {
        guard let bev, phase != .closed else { return }
        let lingering = phase == .lingering
        let input = bufferevent_get_input(bev)
        if lingering { evbuffer_drain(input, evbuffer_get_length(input)) }
        let room = readHighWater - evbuffer_get_length(input)
        guard room > 0 else {
            socketReader?.disable()
            return
        }
        // The bufferevent keeps its input's end frozen outside its own reads.
        evbuffer_unfreeze(input, 0)
        // On the stack: this runs for every read.
        var vectors = (iovec(), iovec())
        let (count, got) = withUnsafeMutableBytes(of: &vectors) { raw -> (Int, Int) in
            let vectors = raw.bindMemory(to: iovec.self)
            let count = Int(evbuffer_reserve_space(input, room, vectors.baseAddress, 2))
            guard count > 0 else { return (count, -1) }
            let got = readv(fd, vectors.baseAddress, Int32(count))
            var left = max(got, 0)
            var used = 0
            for i in 0..<count {
                let take = min(left, vectors[i].iov_len)
                vectors[i].iov_len = take
                left -= take
                if take > 0 { used = i + 1 }
            }
            evbuffer_commit_space(input, vectors.baseAddress, Int32(used))
            return (count, got)
        }
        let failure = errno
        evbuffer_freeze(input, 0)
        if got == 0 {
            return finish(.peerClosed)
        }
        if got < 0 {
            if failure == EAGAIN || failure == EINTR || count <= 0 { return }
            return finish(lingering ? .peerClosed : .error(failure))
        }
        readable()
    }
}
