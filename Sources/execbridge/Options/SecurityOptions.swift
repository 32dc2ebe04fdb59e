import ArgumentParser
import ExecBridge

/// Who may exec.
struct SecurityOptions: ParsableArguments {
    func settings() -> SecuritySettings {
        SecuritySettings()
    }
}
