import ExecModel
import Glibc
import Logging
import Reactor

/// One session's asciicast v2 file, written while the session runs: events are appended to a
/// bounded buffer that goes to the file at most a second after its first event, when it grows past
/// `flushThreshold`, and at the end, so a crash loses at most the last second. The timer runs only
/// while something waits to be written: an idle session costs nothing. Lives on the session's loop; the Bridge
/// hands it every event it moves (the recorder never changes them).
final class SessionRecorder: SessionTap {
    /// The file, absolute; named in the audit line.
    let path: String
    var recording: String? { path }
    private var fd: Int32
    private let settings: RecordingSettings
    private let request: ExecRequest
    private let logger: Logger
    private let session: String
    private let started = EventLoop.now()
    private let timestamp = Int(time(nil))
    /// The header waits for the client's first resize (or the first flush) to know the size.
    private var size: TerminalSize?
    private var headerWritten = false
    private var buffer: [UInt8] = []
    /// Bytes of the file so far, counting the buffer and the header to come.
    private var accounted: Int
    private var truncated = false
    private var carries: [Channel: UTF8Carry] = [:]
    private var timer: LoopTimer?
    private let loop: EventLoop

    static let flushThreshold = 64 * 1024
    /// Room kept for the truncation marker and the header's final size, so that the file never
    /// exceeds `--record-max-bytes`.
    static let markerReserve = 256

    /// Opens the session's file, or logs why not and returns nil (the session runs unrecorded).
    static func begin(_ settings: RecordingSettings, request: ExecRequest, loop: EventLoop, logger: Logger) -> SessionRecorder? {
        let session = RecordingFileName.newSessionID()
        let name = RecordingFileName.make(time: time(nil), session: session, user: request.identity.user)
        let path = settings.directory + "/" + name
        // O_EXCL and O_NOFOLLOW: never write through a link or into a file someone prepared.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            logger.error("cannot create recording", metadata: ["path": "\(path)", "error": "\(String(cString: strerror(errno)))"])
            return nil
        }
        fchmod(fd, 0o600)
        return SessionRecorder(fd: fd, path: path, session: session, settings: settings, request: request,
                               loop: loop, logger: logger)
    }

    private init(fd: Int32, path: String, session: String, settings: RecordingSettings, request: ExecRequest,
                 loop: EventLoop, logger: Logger) {
        self.fd = fd
        self.path = path
        self.session = session
        self.settings = settings
        self.request = request
        self.logger = logger
        self.loop = loop
        accounted = Asciicast.header(request, size: Asciicast.defaultSize, timestamp: timestamp, session: session).utf8.count
        // The header, too, is due within a second.
        armFlush()
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// One event the Bridge moved; `fromClient` tells its direction.
    func record(_ event: SessionEvent, fromClient: Bool) {
        guard fd >= 0, !truncated else { return }
        switch event {
        case .data(let channel, let bytes) where fromClient:
            guard channel == .stdin, settings.recordInput else { return }
            append("i", carries[channel, default: UTF8Carry()].decode(bytes))
        case .data(let channel, let bytes):
            // stdout and stderr alike: a non-tty session's errors are part of what happened.
            guard channel == .stdout || channel == .stderr else { return }
            append("o", carries[channel, default: UTF8Carry()].decode(bytes))
        case .resize(let newSize) where fromClient:
            if !headerWritten, size == nil { size = newSize }
            append("r", "\(newSize.width)x\(newSize.height)")
        default:
            break
        }
    }

    /// The session ended: what a split sequence left over, the rest of the buffer, and close.
    func finish() {
        guard fd >= 0 else { return }
        if !truncated {
            for channel in [Channel.stdin, .stdout, .stderr] {
                if let rest = carries[channel]?.flush(), !rest.isEmpty { append(channel == .stdin ? "i" : "o", rest) }
            }
        }
        flush()
        close(fd)
        fd = -1
    }

    private func append(_ code: String, _ data: String) {
        guard !data.isEmpty else { return }
        let now = EventLoop.now() - started
        let line = Asciicast.event(at: now, code, data)
        if accounted + line.utf8.count + Self.markerReserve > settings.maxBytes {
            truncated = true
            // What still fits is kept: the recording ends exactly where the limit was reached.
            let room = settings.maxBytes - Self.markerReserve - accounted - Asciicast.event(at: now, code, "").utf8.count
            let part = Asciicast.prefix(data, escapedWithin: room)
            if !part.isEmpty {
                let partLine = Asciicast.event(at: now, code, part)
                buffer.append(contentsOf: partLine.utf8)
                accounted += partLine.utf8.count
            }
            let marker = Asciicast.event(at: now, "m", "recording truncated: --record-max-bytes \(settings.maxBytes) reached")
            buffer.append(contentsOf: marker.utf8)
            accounted += marker.utf8.count
            armFlush()
            logger.notice("recording truncated", metadata: ["path": "\(path)", "maxBytes": "\(settings.maxBytes)"])
            return
        }
        buffer.append(contentsOf: line.utf8)
        accounted += line.utf8.count
        if buffer.count >= Self.flushThreshold { flush() } else { armFlush() }
    }

    private func armFlush() {
        guard timer == nil else { return }
        timer = LoopTimer(loop: loop, after: 1) { [weak self] in self?.flush() }
    }

    private func flush() {
        timer?.cancel()
        timer = nil
        guard fd >= 0 else { return }
        if !headerWritten {
            headerWritten = true
            let header = Asciicast.header(request, size: size ?? Asciicast.defaultSize, timestamp: timestamp, session: session)
            buffer.insert(contentsOf: header.utf8, at: 0)
        }
        guard !buffer.isEmpty else { return }
        let ok = buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        buffer.removeAll(keepingCapacity: true)
        if !ok {
            // A full disk ends the recording, never the session.
            logger.error("recording write failed: recording stopped", metadata: [
                "path": "\(path)", "error": "\(String(cString: strerror(errno)))"])
            close(fd)
            fd = -1
        }
    }
}
