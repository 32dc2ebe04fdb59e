import CSystem
import ExecModel
import Glibc
import Logging
import Reactor

/// The client's stdin to the child: written as the descriptor takes it, queued (bounded) otherwise;
/// its end closes the pipe or types the terminal's EOF.
extension LocalProcessSession {
    // MARK: - Stdin

    func acceptStdin(_ bytes: UnsafeRawBufferPointer) {
        guard request.stdin, stdinPhase == .open, bytes.count > 0 else { return }
        lastStdinByte = bytes[bytes.count - 1]
        guard launched, stdinFD >= 0, stdinQueue.isEmpty else {
            enqueue(bytes)
            return
        }
        guard let written = writeStdin(bytes) else {
            stdinBroke()
            return
        }
        if written < bytes.count {
            enqueue(UnsafeRawBufferPointer(rebasing: bytes[written...]))
            stdinEvent?.enable()
        }
    }

    func enqueue(_ bytes: UnsafeRawBufferPointer) {
        guard stdinQueue.append(bytes) else {
            logger.error("stdin for the local process passed \(Self.stdinLimit) buffered bytes; closing its stdin")
            advanceStdin(to: .ending)
            return
        }
    }

    /// Writes as much as the descriptor takes now; nil when it can take nothing ever again.
    func writeStdin(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return 0 }
        var offset = 0
        while offset < bytes.count {
            let count = write(stdinFD, base + offset, bytes.count - offset)
            if count > 0 {
                offset += count
                continue
            }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN { break }
            return nil
        }
        return offset
    }

    func flushStdin() {
        guard stdinFD >= 0, !released else { return }
        guard !stdinQueue.isEmpty else {
            stdinEvent?.disable()
            return
        }
        guard let written = writeStdin(stdinQueue.readable) else {
            stdinBroke()
            return
        }
        stdinQueue.consume(written)
        guard stdinQueue.isEmpty else { return }
        stdinEvent?.disable()
        if stdinPhase == .ending { deliverStdinEOF() }
        delegate?.endpointDidDrain(self)
    }

    /// End of stdin: close the pipe, or type the terminal's EOF character (twice when the last line
    /// is unfinished: the first one only hands that line over).
    func deliverStdinEOF() {
        guard stdinPhase != .done, stdinFD >= 0 else { return }
        guard request.tty else {
            stopStdin()
            return
        }
        stdinPhase = .done
        let eof = UInt8(truncatingIfNeeded: eb_pty_eof_char(masterFD))
        let lineOpen = lastStdinByte.map { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") } ?? false
        let bytes: [UInt8] = lineOpen ? [eof, eof] : [eof]
        bytes.withUnsafeBytes { raw in
            guard let written = writeStdin(raw) else { return }
            if written < raw.count, stdinQueue.append(UnsafeRawBufferPointer(rebasing: raw[written...])) {
                stdinEvent?.enable()
            }
        }
    }

    /// The child closed its stdin (EPIPE) or the terminal is gone: drop what is queued.
    func stdinBroke() {
        let hadPending = !stdinQueue.isEmpty
        stopStdin()
        if hadPending { delegate?.endpointDidDrain(self) }
    }

    func stopStdin() {
        stdinPhase = .done
        stdinQueue.removeAll()
        stdinEvent?.invalidate()
        stdinEvent = nil
        if stdinFD >= 0, stdinFD != masterFD { close(stdinFD) }
        stdinFD = -1
    }
}
