/// Which end of the connection this codec speaks for. The role decides the masking rule:
/// clients mask every frame they send, servers never do, and each rejects the other's violation.
public enum WebSocketRole: Sendable {
    case server
    case client
}
