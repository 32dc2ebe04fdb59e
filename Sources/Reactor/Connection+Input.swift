import CLibevent
import Glibc

/// Handing buffered input to the handler without copying, and backpressure toward the peer.
extension Connection {
    /// Bytes waiting in the input buffer.
    public var inputCount: Int {
        guard let bev else { return 0 }
        return evbuffer_get_length(bufferevent_get_input(bev))
    }

    /// Hands the buffered input to `body`, chunk by chunk, without copying. `body` returns how many
    /// bytes of the chunk it consumed; consuming less than the whole chunk stops the walk (the rest
    /// stays buffered for the next call). Returns the number of bytes consumed.
    @discardableResult
    public func consumeInput(_ body: (UnsafeRawBufferPointer) -> Int) -> Int {
        loop.preconditionInEventLoop()
        guard let bev else { return 0 }
        let input = bufferevent_get_input(bev)
        consuming = true
        defer {
            consuming = false
            if phase == .lingering { drainInput(inputCount) }
        }
        var total = 0
        // On the stack: this runs for every read.
        var storage = (iovec(), iovec(), iovec(), iovec(), iovec(), iovec(), iovec(), iovec())
        return withUnsafeMutableBytes(of: &storage) { raw -> Int in
            let vectors = raw.bindMemory(to: iovec.self)
            while evbuffer_get_length(input) > 0 {
                let n = Int(evbuffer_peek(input, -1, nil, vectors.baseAddress, Int32(vectors.count)))
                var consumedHere = 0
                for i in 0..<min(n, vectors.count) {
                    let chunk = UnsafeRawBufferPointer(start: vectors[i].iov_base, count: vectors[i].iov_len)
                    let used = body(chunk)
                    consumedHere += used
                    if used < chunk.count || self.bev == nil {
                        if self.bev != nil { evbuffer_drain(input, consumedHere) }
                        total += consumedHere
                        bytesIn += total
                        readAgainIfRoom()
                        return total
                    }
                }
                evbuffer_drain(input, consumedHere)
                total += consumedHere
                if consumedHere == 0 { break }
            }
            bytesIn += total
            readAgainIfRoom()
            return total
        }
    }

    /// Copies up to `max` input bytes out (for small heads), leaving them buffered.
    public func peekInput(max: Int) -> [UInt8] {
        guard let bev else { return [] }
        let input = bufferevent_get_input(bev)
        let n = min(max, evbuffer_get_length(input))
        var out = [UInt8](repeating: 0, count: n)
        _ = out.withUnsafeMutableBytes { evbuffer_copyout(input, $0.baseAddress, n) }
        return out
    }

    public func drainInput(_ count: Int) {
        loop.preconditionInEventLoop()
        guard let bev else { return }
        evbuffer_drain(bufferevent_get_input(bev), count)
        bytesIn += count
        readAgainIfRoom()
    }

    /// Stops reading the socket (backpressure toward the peer); input already buffered stays.
    public func pauseReading() {
        loop.preconditionInEventLoop()
        guard let bev, !readPaused else { return }
        readPaused = true
        if let socketReader { socketReader.disable() } else { bufferevent_disable(bev, Int16(EV_READ)) }
    }

    public func resumeReading() {
        loop.preconditionInEventLoop()
        guard let bev, readPaused else { return }
        readPaused = false
        if socketReader != nil { readAgainIfRoom() } else { bufferevent_enable(bev, Int16(EV_READ)) }
        // Input that arrived before the pause has no new read event to announce it.
        if inputCount > 0 {
            resumeTimer = LoopTimer(loop: loop, after: 0) { [weak self] in
                guard let self, self.phase == .open || self.phase == .flushing, !self.readPaused,
                      self.inputCount > 0 else { return }
                self.handler?.connectionDidRead(self)
            }
        }
    }

    public var isReadingPaused: Bool { readPaused }
}
