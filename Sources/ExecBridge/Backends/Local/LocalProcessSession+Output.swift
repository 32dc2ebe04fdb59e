import CSystem
import ExecModel
import Glibc
import Logging
import Reactor

/// The child's stdout/stderr (or terminal) to the delegate, and terminal size.
extension LocalProcessSession {
    // MARK: - Output

    func readOutput(_ end: OutputEnd) {
        guard end.isOpen, !released else { return }
        let buffer = loop.scratch
        let count = read(end.fd, buffer.baseAddress, buffer.count)
        if count > 0 {
            if end.forwards {
                delegate?.endpoint(self, emitted: .data(end.channel,
                                                        UnsafeRawBufferPointer(start: buffer.baseAddress, count: count)))
            }
            return
        }
        if count < 0 {
            let error = errno
            if error == EAGAIN || error == EINTR { return }
            // EIO on a pty master: every slave descriptor is closed, the terminal's output is over.
            if error != EIO {
                logger.warning("reading the local process's \(end.channel) failed: \(errorText(error))")
            }
        }
        closeOutput(end)
        if request.tty {
            // The terminal is gone both ways.
            stopStdin()
        }
        if end.forwards {
            delegate?.endpoint(self, emitted: .halfClose(end.channel))
        }
        emitExitIfDone()
    }

    func closeOutput(_ end: OutputEnd) {
        guard end.isOpen else { return }
        end.event?.invalidate()
        end.event = nil
        if end.owned { close(end.fd) }
        end.fd = -1
    }


    // MARK: - Terminal

    func applySize(_ size: TerminalSize) {
        if eb_pty_set_size(masterFD, size.height, size.width) != 0 {
            logger.warning("resizing the terminal failed: \(errorText(errno))")
        }
    }
}
