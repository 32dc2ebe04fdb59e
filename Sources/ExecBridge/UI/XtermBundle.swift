/// xterm.js 3.8 from Debian, served at run time from the installed package files. Debian 12's
/// `libjs-xterm` ships the stylesheet and the addons, but its `xterm.js` is a stub that
/// `require`s CommonJS modules a browser cannot load; the modules themselves are in `node-xterm`
/// (`/usr/share/nodejs/xterm/lib`). The gateway wraps each listed module in a call to the page's
/// own module table (`ui/modules.js`) and serves them as one script: no build step, no copy in
/// the repository, and no request path ever names a file (only these exact files are read).
struct XtermBundle: Sendable {
    struct Locations: Sendable {
        /// `node-xterm`'s CommonJS modules.
        var modules = "/usr/share/nodejs/xterm/lib"
        /// `libjs-xterm`: `xterm.css` and `addons/fit/fit.js`.
        var browser = "/usr/share/javascript/xterm"
    }

    /// Module names (paths under `modules`, without `.js`): everything `public/Terminal` needs.
    static let moduleNames = [
        "AccessibilityManager", "Buffer", "BufferLine", "BufferSet", "CharWidth", "CompositionHelper",
        "EscapeSequenceParser", "InputHandler", "Linkifier", "SelectionManager", "SelectionModel", "SoundManager",
        "Strings", "Terminal", "Types", "Viewport", "common/CircularList", "common/EventEmitter", "common/Lifecycle",
        "common/Types", "common/data/EscapeSequences", "core/Types", "core/data/Charsets", "core/input/Keyboard",
        "handlers/AltClickHandler", "handlers/Clipboard", "public/Terminal", "renderer/BaseRenderLayer",
        "renderer/CharacterJoinerRegistry", "renderer/ColorManager", "renderer/CursorRenderLayer", "renderer/GridCache",
        "renderer/LinkRenderLayer", "renderer/Renderer", "renderer/SelectionRenderLayer", "renderer/TextRenderLayer",
        "renderer/Types", "renderer/atlas/BaseCharAtlas", "renderer/atlas/CharAtlasCache",
        "renderer/atlas/CharAtlasUtils", "renderer/atlas/DynamicCharAtlas", "renderer/atlas/LRUMap",
        "renderer/atlas/NoneCharAtlas", "renderer/atlas/StaticCharAtlas", "renderer/atlas/Types",
        "renderer/dom/DomRenderer", "renderer/dom/DomRendererRowFactory", "shared/Types",
        "shared/atlas/CharAtlasGenerator", "shared/atlas/Types", "shared/utils/Browser", "ui/CharMeasure",
        "ui/Lifecycle", "ui/MouseZoneManager", "ui/RenderDebouncer", "ui/ScreenDprMonitor", "ui/Types",
        "utils/Clone", "utils/MouseHelper",
    ]
    /// The Debian packages that hold these files (named in the error page and log line).
    static let packages = "node-xterm libjs-xterm"
    static let maxFileBytes = 256 * 1024

    /// The modules and the fit addon, each wrapped as `execbridgeDefine(name, function (require, module, exports) {…});`.
    let script: [UInt8]
    let stylesheet: [UInt8]

    /// Reads the listed files; the error names the first missing one.
    static func load(_ locations: Locations = Locations()) -> Result<XtermBundle, ConfigurationError> {
        var script = Array("// xterm.js 3.8 from Debian's \(packages), wrapped for ui/modules.js by execbridge\n".utf8)
        var sources = moduleNames.map { (name: $0, path: locations.modules + "/" + $0 + ".js") }
        sources.append((name: "addons/fit/fit", path: locations.browser + "/addons/fit/fit.js"))
        for source in sources {
            guard let text = SmallFile.read(source.path, limit: maxFileBytes) else {
                return .failure(missing(source.path))
            }
            script += Array("execbridgeDefine(\"\(source.name)\", function (require, module, exports) {\n".utf8)
            script += withoutSourceMap(text)
            script += Array("\n});\n".utf8)
        }
        let cssPath = locations.browser + "/xterm.css"
        guard let stylesheet = SmallFile.read(cssPath, limit: maxFileBytes) else { return .failure(missing(cssPath)) }
        return .success(XtermBundle(script: script, stylesheet: stylesheet))
    }

    static func missing(_ path: String) -> ConfigurationError {
        ConfigurationError("--ui: the terminal component is not installed (\(path) is missing): "
                           + "apt-get install \(packages) (make run installs them)")
    }

    /// A `//# sourceMappingURL=` line would make developer tools ask for maps that are not served.
    private static func withoutSourceMap(_ text: [UInt8]) -> [UInt8] {
        let marker = Array("//# sourceMappingURL=".utf8)
        var lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        lines.removeAll { $0.starts(with: marker) }
        return Array(lines.joined(separator: [UInt8(ascii: "\n")]))
    }
}
