import ArgumentParser
import ExecBridge

/// The web terminal of `execbridge serve`.
struct UIOptions: ParsableArguments {
    @Flag(name: .customLong("ui"), help: ArgumentHelp(
        "Serve a web terminal at /ui/ on the gateway's own port and origin: pods, a terminal per session, and the "
        + "caller's recordings with --record-dir (docs/ui.md). (default: off)"))
    var ui = false

    func settings() -> UISettings? {
        ui ? UISettings() : nil
    }
}
