import ArgumentParser
import ExecBridge

/// Where sessions run.
struct BackendOptions: ParsableArguments {
    @Option(name: .long, help: "Where sessions run: local (the embedded backend).")
    var backend: String = "local"

    @Option(name: .long, help: "Inventory YAML of pods and containers for the local backend.")
    var inventory: String?

    func settings() -> BackendSettings {
        var settings = BackendSettings()
        settings.backend = backend
        settings.inventory = inventory
        return settings
    }
}
