import ArgumentParser
import ExecBridge

/// Session recording of `execbridge serve` (asciicast v2, one file per session).
struct RecordingOptions: ParsableArguments {
    @Option(name: .customLong("record-dir"), help: ArgumentHelp(
        "Write one asciicast v2 file per session (mode 0600) into this directory (created 0700 if absent).",
        valueName: "dir"))
    var recordDir: String?

    @Option(name: .customLong("record-max-bytes"), help: ArgumentHelp(
        "Bytes one session's recording may reach; then a marker ends it and the session goes on.", valueName: "bytes"))
    var recordMaxBytes: Int = 64 * 1024 * 1024

    @Flag(name: .customLong("record-input"), help: "Also record what the client types (off by default: passwords are typed).")
    var recordInput = false

    func validate() throws {
        guard recordMaxBytes >= RecordingSettings.minimumMaxBytes else {
            throw ValidationError("--record-max-bytes must be at least \(RecordingSettings.minimumMaxBytes)")
        }
        if recordDir == nil, recordInput { throw ValidationError("--record-input needs --record-dir") }
    }

    func settings() -> RecordingSettings? {
        guard let recordDir else { return nil }
        var settings = RecordingSettings(directory: recordDir)
        settings.maxBytes = recordMaxBytes
        settings.recordInput = recordInput
        return settings
    }
}
