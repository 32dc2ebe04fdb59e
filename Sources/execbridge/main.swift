import ArgumentParser

// Top-level code runs on the main actor; everything that registers C callbacks lives in
// nonisolated types of the ExecBridge module, which `Serve.run()` only calls into.
do {
    var command = try ExecBridgeCommand.parseAsRoot()
    try command.run()
} catch let failure as CommandLineFailure {
    ExecBridgeCommand.exit(withError: failure.report())
} catch {
    ExecBridgeCommand.exit(withError: error)
}
