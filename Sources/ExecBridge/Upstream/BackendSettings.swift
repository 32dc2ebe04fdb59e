/// `--backend` and what goes with it: where sessions run.
public struct BackendSettings: Sendable {
    /// `local` (the embedded backend) or an upstream URL.
    public var backend: String = "local"
    /// Inventory YAML for the local backend.
    public var inventory: String?

    public init() {}
}
