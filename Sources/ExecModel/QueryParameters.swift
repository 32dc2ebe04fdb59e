/// A decoded query string: pairs in order, repeated keys kept (`command` is repeated, one argv element each).
struct QueryParameters {
    private(set) var pairs: [(key: String, value: String)] = []

    /// Decodes `key=value&…` ('+' = space). A malformed escape refuses the whole query (Go's
    /// `url.ParseQuery` reports it too) rather than silently dropping an argv element.
    static func parse(_ query: Substring) -> Result<QueryParameters, PercentDecoding.Failure> {
        var result = QueryParameters()
        for piece in query.split(separator: "&", omittingEmptySubsequences: true) {
            let key: Substring
            let value: Substring
            if let equals = piece.firstIndex(of: "=") {
                key = piece[..<equals]
                value = piece[piece.index(after: equals)...]
            } else {
                key = piece[...]
                value = ""
            }
            switch (PercentDecoding.decode(key, plusIsSpace: true), PercentDecoding.decode(value, plusIsSpace: true)) {
            case (.success(let key), .success(let value)): result.pairs.append((key: key, value: value))
            case (.failure(let failure), _), (_, .failure(let failure)): return .failure(failure)
            }
        }
        return .success(result)
    }

    /// The first value, as Go's `Values.Get` / `FormValue` returns it.
    func first(_ key: String) -> String? {
        pairs.first { $0.key == key }?.value
    }

    func all(_ key: String) -> [String] {
        pairs.compactMap { $0.key == key ? $0.value : nil }
    }

    /// Kubelet style (`input`, `output`, `error`, `tty`): true only for exactly `1`
    /// (kubelet `remotecommand/httpstream.go` `NewOptions`).
    func kubeletFlag(_ key: String) -> Bool {
        first(key) == "1"
    }

    /// Apiserver style (`stdin`, `stdout`, `stderr`, `tty`): false when absent, `0` or `false` in any case;
    /// anything else, even empty, is true (apimachinery `Convert_Slice_string_To_bool`).
    func apiserverFlag(_ key: String) -> Bool {
        guard let value = first(key) else { return false }
        return !(value == "0" || value.lowercased() == "false")
    }
}
