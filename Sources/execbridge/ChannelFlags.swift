import ArgumentParser
import ExecBridge

/// How `exec` and `attach` reach their session: the generation and the channel versions offered.
/// One declaration, so the two subcommands keep the same names, meaning and checks.
struct ChannelFlags: ParsableArguments {
    @Option(name: .customLong("protocol"), help: ArgumentHelp(
        "spdy, h2 (prior knowledge, or ALPN h2 over https), h2c-upgrade, or ws.", valueName: "protocol"))
    var wireProtocol: String = "spdy"

    @Option(name: .customLong("version-list"), help: ArgumentHelp(
        "Channel versions to offer, preferred first (e.g. v4,v3).", valueName: "list"))
    var versionList: String?

    func apply(to options: inout ExecCLIOptions) throws {
        guard let wire = ExecCLIOptions.WireProtocol(rawValue: wireProtocol) else {
            throw ExecCLIError.usage("--protocol must be one of spdy, h2, h2c-upgrade, ws")
        }
        options.wireProtocol = wire
        if let versionList {
            options.versions = try ExecCLIOptions.parseVersions(versionList)
        }
    }
}
