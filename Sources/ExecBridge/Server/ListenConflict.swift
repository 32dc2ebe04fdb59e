import Glibc
import Reactor

/// One gateway per address. Every loop binds its listener with SO_REUSEPORT so that the kernel
/// spreads connections over the gateway's threads; but the kernel lets any process of the same
/// user join such a port, and a second gateway would then silently take half the connections.
///
/// The check runs after this process has bound: any other LISTEN socket on the same port (same
/// address, or a wildcard on either side) in /proc/net/tcp{,6} whose inode is not one of ours
/// belongs to another process. Checking after binding is race-free in the direction that
/// matters: two gateways starting at the same instant both see each other and both refuse, never
/// both serve. (A probe bind without SO_REUSEPORT before the real bind would leave a window in
/// which both probes succeed.)
enum ListenConflict {
    struct Socket: Equatable {
        var address: [UInt8]
        var port: UInt16
        var inode: UInt64

        var isWildcard: Bool { address.allSatisfy { $0 == 0 } }

        func overlaps(_ other: Socket) -> Bool {
            guard port == other.port else { return false }
            if isWildcard || other.isWildcard { return true }
            return address == other.address
        }
    }

    /// The first LISTEN socket of another process overlapping one of `ours` (listener fds).
    static func foreignListener(overlapping fds: [Int32]) -> (address: SocketAddress, pid: pid_t?)? {
        let all = listening()
        var ownInodes = Set<UInt64>()
        for fd in fds {
            var info = stat()
            if fstat(fd, &info) == 0 { ownInodes.insert(UInt64(info.st_ino)) }
        }
        let own = all.filter { ownInodes.contains($0.inode) }
        for socket in all where !ownInodes.contains(socket.inode) {
            guard let mine = own.first(where: { $0.overlaps(socket) }), let address = mine.socketAddress else { continue }
            return (address, owner(ofInode: socket.inode))
        }
        return nil
    }

    /// LISTEN sockets of this network namespace, IPv4 and IPv6.
    static func listening() -> [Socket] {
        (parse(read("/proc/net/tcp")) + parse(read("/proc/net/tcp6")))
    }

    /// Rows of /proc/net/tcp: `sl local_address rem_address st … inode`; addresses are hex words
    /// in host byte order, the port hex in network order.
    static func parse(_ table: String) -> [Socket] {
        var sockets: [Socket] = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, fields[3] == "0A" else { continue }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, let port = UInt16(local[1], radix: 16), let inode = UInt64(fields[9]),
                  let address = words(local[0]) else { continue }
            sockets.append(Socket(address: address, port: port, inode: inode))
        }
        return sockets
    }

    private static func words(_ hex: Substring) -> [UInt8]? {
        guard hex.count % 8 == 0, hex.count <= 32 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 8)
            guard let word = UInt32(hex[index..<next], radix: 16) else { return nil }
            // Each word is printed as the host-order integer (little-endian on every target).
            withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) }
            index = next
        }
        return bytes
    }

    /// The process holding the socket, when it is ours to see (the same user: exactly the case
    /// SO_REUSEPORT lets through).
    static func owner(ofInode inode: UInt64) -> pid_t? {
        guard let proc = opendir("/proc") else { return nil }
        defer { closedir(proc) }
        let wanted = "socket:[\(inode)]"
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard let pid = pid_t(name), pid != getpid(), let fds = opendir("/proc/\(name)/fd") else { continue }
            defer { closedir(fds) }
            while let fd = readdir(fds) {
                let fdName = withUnsafeBytes(of: fd.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                var buffer = [CChar](repeating: 0, count: 64)
                let n = readlink("/proc/\(name)/fd/\(fdName)", &buffer, buffer.count - 1)
                if n > 0, String(cString: buffer) == wanted { return pid }
            }
        }
        return nil
    }

    private static func read(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            text.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

extension ListenConflict.Socket {
    var socketAddress: SocketAddress? {
        let host: String
        if address.count == 4 {
            host = address.map(String.init).joined(separator: ".")
        } else {
            var storage = in6_addr()
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: address) }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &storage, &buffer, socklen_t(buffer.count)) != nil else { return nil }
            host = String(cString: buffer)
        }
        return try? SocketAddress(host: host, port: port)
    }
}
