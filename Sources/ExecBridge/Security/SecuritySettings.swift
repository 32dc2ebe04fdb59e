/// Who may exec: identity sources, policy, audit. (Filled by the security work; empty = the
/// demo default: anonymous callers, no policy, no audit file.)
public struct SecuritySettings: Sendable {
    public init() {}

    /// Adds identity, authorization and audit to the gateway.
    func install(into config: inout GatewayConfig) throws {}
}
