import Glibc

/// The page's own files: plain HTML, CSS and JavaScript, no build step. They live in the
/// repository's `ui/` folder (found from the executable, as `make run` and a fresh clone have
/// it) or in `share/execbridge/ui` beside an installation's `bin/`. Only the names listed here
/// are ever read or served; they are read once, at start.
struct UIAssets: Sendable {
    struct File: Sendable {
        var contentType: String
        var body: [UInt8]
    }

    static let contentTypes: [String: String] = [
        "index.html": "text/html; charset=utf-8",
        "style.css": "text/css; charset=utf-8",
        "icon.svg": "image/svg+xml",
        "modules.js": "text/javascript; charset=utf-8",
        "api.js": "text/javascript; charset=utf-8",
        "channel.js": "text/javascript; charset=utf-8",
        "terminal.js": "text/javascript; charset=utf-8",
        "player.js": "text/javascript; charset=utf-8",
        "tabs.js": "text/javascript; charset=utf-8",
        "app.js": "text/javascript; charset=utf-8",
    ]
    static let maxFileBytes = 256 * 1024

    let directory: String
    let files: [String: File]

    /// Reads every listed file of `directory`; a missing or oversized one fails the start.
    static func load(directory: String) throws -> UIAssets {
        var files: [String: File] = [:]
        for (name, type) in contentTypes {
            guard let body = SmallFile.read(directory + "/" + name, limit: maxFileBytes) else {
                throw ConfigurationError("--ui: \(directory)/\(name) is missing, unreadable or over \(maxFileBytes) bytes")
            }
            files[name] = File(contentType: type, body: body)
        }
        return UIAssets(directory: directory, files: files)
    }

    /// The folder next to the executable: walking up from its real path, the first `ui/` (a
    /// build in a clone: `.build/<triple>/release/execbridge`) or `share/execbridge/ui` (an
    /// installation under a prefix) that holds an `index.html`.
    static func locate(executable: String? = executablePath()) -> String? {
        guard var directory = executable.map(parent) else { return nil }
        for _ in 0..<6 {
            for candidate in [directory + "/ui", directory + "/share/execbridge/ui"] {
                if access(candidate + "/index.html", R_OK) == 0 { return candidate }
            }
            guard directory != "/" && !directory.isEmpty else { break }
            directory = parent(directory)
        }
        return nil
    }

    static func executablePath() -> String? {
        guard let resolved = realpath("/proc/self/exe", nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let head = String(path[..<slash])
        return head.isEmpty ? "/" : head
    }
}
