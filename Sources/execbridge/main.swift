import ArgumentParser

// Top-level code runs on the main actor; everything that registers C callbacks lives in
// nonisolated types of the ExecBridge module, which `Serve.run()` only calls into.
ExecBridgeCommand.main()
