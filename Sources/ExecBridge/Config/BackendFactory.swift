import Logging
import Reactor

/// `--backend`: which backend each loop gets.
enum BackendFactory {
    static func make(_ options: ServeOptions, logger: Logger) throws -> @Sendable (EventLoop) -> Backend {
        switch options.backend {
        case "local":
            let inventory = try options.inventory.map { try Inventory.load(path: $0) }
            return { _ in LocalBackend(inventory: inventory, logger: logger) }
        default:
            throw ConfigurationError("unsupported --backend \(options.backend): this build serves the embedded backend (local)")
        }
    }
}
