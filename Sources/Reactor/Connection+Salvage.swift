import CLibevent
import Glibc

extension Connection {
    /// A write failed because the peer reset the connection (it closed with our data unread), but
    /// what it sent before (a last output, an exit status) still waits in the kernel's receive
    /// queue. Hand that to the handler before closing, as a reader that never wrote would see it.
    /// (Plain sockets only: TLS records cannot be read past the bufferevent. Bounded.)
    func salvageInput() {
        guard let bev, ssl == nil else { return }
        let input = bufferevent_get_input(bev)
        // The bufferevent keeps its input's end frozen outside its own reads.
        evbuffer_unfreeze(input, 0)
        var total = 0
        while total < 4 * 1024 * 1024 {
            let n = evbuffer_read(input, fd, 64 * 1024)
            if n <= 0 { break }
            total += Int(n)
        }
        evbuffer_freeze(input, 0)
        if inputCount > 0 { handler?.connectionDidRead(self) }
    }
}
