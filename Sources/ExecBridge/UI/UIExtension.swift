import Logging

/// `--ui`: where the page's files are, and the recordings its player may show.
public struct UISettings: Sendable {
    /// The page's own files; nil: found next to the executable (`UIAssets.locate`).
    public var assetsDirectory: String?
    /// `node-xterm`'s modules and `libjs-xterm`'s browser files (tests point them elsewhere).
    public var xtermModules = XtermBundle.Locations().modules
    public var xtermBrowser = XtermBundle.Locations().browser
    /// `--record-dir`, absolute (nil: no recordings, no player).
    public var recordDirectory: String?

    public init() {}
}

/// Adds the web terminal to every worker's pipeline, with the files read once for all of them.
struct UIExtension: PipelineExtension {
    let assets: UIAssets
    let xterm: Result<XtermBundle, ConfigurationError>
    let recordings: RecordingLibrary?

    func install(into pipeline: RequestPipeline) {
        pipeline.plainHandlers.append(UIHandler(assets: assets, xterm: xterm, recordings: recordings, pipeline: pipeline))
    }
}

extension GatewayConfig {
    /// Serves `/ui/`. The page's own files must be there (the start fails otherwise); a missing
    /// terminal component is logged, and the page says how to install it.
    public mutating func serveUI(_ settings: UISettings) throws {
        guard let directory = settings.assetsDirectory ?? UIAssets.locate() else {
            throw ConfigurationError("--ui: the page's files (ui/index.html) were not found next to the executable "
                                     + "nor in share/execbridge/ui above it")
        }
        let assets = try UIAssets.load(directory: directory)
        var locations = XtermBundle.Locations()
        locations.modules = settings.xtermModules
        locations.browser = settings.xtermBrowser
        let xterm = XtermBundle.load(locations)
        if case .failure(let error) = xterm { logger.error("\(error)") }
        pipelineExtensions.append(UIExtension(assets: assets, xterm: xterm,
                                              recordings: settings.recordDirectory.map(RecordingLibrary.init)))
        logger.info("web terminal at /ui/", metadata: ["files": "\(directory)"])
    }
}
