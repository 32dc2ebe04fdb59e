/// What moves between the two ends of a session. Payload is borrowed: valid only during the call
/// that carries it, so it is written onward once and never kept.
public enum SessionEvent {
    /// Bytes on a channel: stdin toward the backend, stdout/stderr toward the client.
    case data(Channel, UnsafeRawBufferPointer)
    /// One direction of a channel ended (stdin EOF from the client, stdout/stderr end from the process).
    case halfClose(Channel)
    /// The client's terminal changed size.
    case resize(TerminalSize)
    /// The command ended (or failed to run); the last event a backend emits.
    case exit(ExecStatus)
}
