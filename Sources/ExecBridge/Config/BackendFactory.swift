import Logging
import Reactor

/// `--backend`: which backend each loop gets.
enum BackendFactory {
    static func make(_ settings: BackendSettings, logger: Logger) throws -> @Sendable (EventLoop) -> Backend {
        switch settings.backend {
        case "local":
            let inventory = try settings.inventory.map { try Inventory.load(path: $0) }
            return { _ in LocalBackend(inventory: inventory, logger: logger) }
        default:
            throw ConfigurationError("unsupported --backend \(settings.backend): this build serves the embedded backend (local)")
        }
    }
}
