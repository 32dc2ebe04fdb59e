import CSystem
import ExecModel
import Glibc

/// The local terminal in raw mode for `execbridge exec -t`, as kubectl puts it (`term.MakeRaw`):
/// no echo, no line editing, no signals from ^C/^Z (they go to the remote terminal as bytes).
///
/// The original mode is restored by `restore()` (idempotent), at process exit (`atexit`), and by
/// handlers for the fatal signals a crash raises (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT,
/// SIGFPE) and for SIGQUIT, which restore and then re-raise with the default action. SIGINT,
/// SIGTERM and SIGHUP are the session's to handle (it restores, then exits 128+N). Only SIGKILL
/// leaves the terminal raw (nothing can catch it; `stty sane` repairs it).
public final class TerminalMode {
    public let fd: Int32
    private var restored = false

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Switches `fd` to raw mode. Throws when it is not a terminal.
    public init(rawOn fd: Int32) throws {
        var original = termios()
        guard tcgetattr(fd, &original) == 0 else {
            throw ExecCLIError.failed("-t: standard input is not a terminal (\(String(cString: strerror(errno))))")
        }
        self.fd = fd
        TerminalRestore.save(fd: fd, original)
        var raw = original
        cfmakeraw(&raw)
        // cfmakeraw also clears OPOST, as Go's MakeRaw does: the remote pty already sends CRLF.
        guard tcsetattr(fd, TCSAFLUSH, &raw) == 0 else {
            TerminalRestore.forget()
            throw ExecCLIError.failed("-t: cannot set raw mode: \(String(cString: strerror(errno)))")
        }
    }

    /// Puts the terminal back as it was. Safe to call more than once.
    public func restore() {
        guard !restored else { return }
        restored = true
        TerminalRestore.restoreNow()
        TerminalRestore.forget()
    }

    deinit { restore() }

    /// The window size of the terminal on `fd`, if it is one.
    public static func size(of fd: Int32) -> TerminalSize? {
        var rows: UInt16 = 0
        var cols: UInt16 = 0
        guard eb_pty_get_size(fd, &rows, &cols) == 0, rows > 0 || cols > 0 else { return nil }
        return TerminalSize(width: cols, height: rows)
    }
}

/// The saved mode, kept where a signal handler can reach it without allocating: plain globals
/// written before any handler is installed and only read afterwards.
enum TerminalRestore {
    nonisolated(unsafe) static var savedFD: Int32 = -1
    /// On the heap, not a global `termios`: Swift emits the global with the size of its own layout of
    /// the imported struct (57 bytes, no tail padding) while Glibc's `termios` is 60, so a copy into it
    /// wrote past the global (address sanitizer: global-buffer-overflow). Allocated once, never freed.
    nonisolated(unsafe) static let saved: UnsafeMutablePointer<termios> = {
        let mode = UnsafeMutablePointer<termios>.allocate(capacity: 1)
        mode.initialize(to: termios())
        return mode
    }()
    nonisolated(unsafe) static var handlersInstalled = false
    /// The actions these handlers replaced (the Swift runtime's crash reporter, or the default),
    /// put back before the signal is raised again. Sized once, never reallocated.
    nonisolated(unsafe) static var previous: [sigaction] = Array(repeating: .init(), count: 65)

    static let fatalSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGQUIT]

    static func save(fd: Int32, _ mode: termios) {
        saved.pointee = mode
        savedFD = fd
        if !handlersInstalled {
            handlersInstalled = true
            atexit(terminalRestoreAtExit)
            for signal in fatalSignals {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = terminalRestoreOnSignal
                sigemptyset(&action.sa_mask)
                sigaction(signal, &action, &previous[Int(signal)])
            }
        }
    }

    static func forget() {
        savedFD = -1
    }

    /// tcsetattr is async-signal-safe; nothing here allocates.
    static func restoreNow() {
        guard savedFD >= 0 else { return }
        _ = tcsetattr(savedFD, TCSAFLUSH, saved)
    }
}

private func terminalRestoreAtExit() {
    TerminalRestore.restoreNow()
}

private func terminalRestoreOnSignal(_ signal: Int32) {
    TerminalRestore.restoreNow()
    // The replaced action comes back, so the re-raised signal ends the process (and reports a crash)
    // exactly as it would have.
    TerminalRestore.previous.withUnsafeMutableBufferPointer { actions in
        _ = sigaction(signal, &actions[Int(signal)], nil)
    }
    raise(signal)
}
