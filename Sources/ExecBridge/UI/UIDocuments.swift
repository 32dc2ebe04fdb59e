import ExecModel

/// The web terminal's JSON, small and flat: what the page shows, nothing more (no container
/// environment, no file paths).
enum UIDocuments {
    static let maxPods = 1000

    static func session(_ identity: Identity, recordings: Bool, inventory: Bool) -> String {
        "{" + member("user", JSONText.quoted(identity.user)) + ","
            + member("groups", array(identity.groups.map(JSONText.quoted))) + ","
            + member("recordings", recordings ? "true" : "false") + ","
            + member("inventory", inventory ? "true" : "false") + "}"
    }

    static func pods(_ pods: [PodCatalog.Pod], inventory: Bool) -> String {
        let items = pods.map { pod in
            "{" + member("namespace", JSONText.quoted(pod.namespace)) + ","
                + member("name", JSONText.quoted(pod.name)) + ","
                + member("node", pod.node.map(JSONText.quoted) ?? "null") + ","
                + member("containers", array(pod.containers.map { JSONText.quoted($0.name) })) + "}"
        }
        return "{" + member("inventory", inventory ? "true" : "false") + "," + member("pods", array(items)) + "}"
    }

    static func recordings(_ entries: [RecordingLibrary.Entry]) -> String {
        let items = entries.map { entry in
            "{" + member("id", JSONText.quoted(entry.id)) + ","
                + member("timestamp", "\(entry.timestamp)") + ","
                + member("width", "\(entry.width)") + "," + member("height", "\(entry.height)") + ","
                + member("command", JSONText.quoted(entry.command)) + ","
                + member("target", JSONText.quoted(entry.target)) + ","
                + member("bytes", "\(entry.bytes)") + "}"
        }
        return "{" + member("recordings", array(items)) + "}"
    }

    private static func member(_ key: String, _ value: String) -> String {
        JSONText.quoted(key) + ":" + value
    }

    private static func array(_ items: [String]) -> String {
        "[" + items.joined(separator: ",") + "]"
    }
}
