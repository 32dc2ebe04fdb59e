/// Turns a request target into an exec or attach request (spec §1), or says it is not one.
public enum ExecRouter {
    /// Parses a request target (path + query, still percent-encoded). nil when the path is not an exec/attach
    /// path at all (the front door then serves /healthz, /readyz, discovery or 404). A path of exec shape with
    /// bad names, flags, command or method is a `RequestError` (400, or 405 for a method other than GET/POST).
    public static func route(method: String, target: String) -> Result<ExecRequest, RequestError>? {
        guard mayNameExecOrAttach(target) else { return nil }
        let (path, query) = splitTarget(target)
        guard let match = ExecPath.match(path) else { return nil }
        guard method == "GET" || method == "POST" else {
            return .failure(RequestError(code: 405, reason: "MethodNotAllowed",
                                         message: "the server does not allow this method on the requested resource",
                                         headers: [.init("Allow", "GET, POST")]))
        }
        let parameters: QueryParameters
        switch QueryParameters.parse(query) {
        case .success(let parsed): parameters = parsed
        case .failure(let failure): return .failure(.badRequest("invalid query: " + describe(failure)))
        }
        return build(match, parameters: parameters, rawTarget: target)
    }

    /// Exec or attach, when the target has the shape of one of their paths (whatever its names).
    public static func kind(ofTarget target: String) -> ExecRequest.Kind? {
        ExecPath.match(splitTarget(target).path)?.kind
    }

    private static func build(_ match: ExecPath, parameters: QueryParameters,
                              rawTarget: String) -> Result<ExecRequest, RequestError> {
        do {
            let node = try match.node.map { try validated($0, field: "node", KubernetesNames.dns1123SubdomainErrors) }
            let namespace = try validated(match.namespace, field: "namespace", KubernetesNames.dns1123SubdomainErrors)
            let pod = try validated(match.pod, field: "pod", KubernetesNames.dns1123SubdomainErrors)
            let podUID = try match.podUID.map { try validated($0, field: "pod uid", uidErrors) }
            var container: String?
            if let raw = match.container {
                container = try validated(raw, field: "container", KubernetesNames.dns1123LabelErrors)
            } else if let value = parameters.first("container"), !value.isEmpty {
                container = try checked(value, field: "container", KubernetesNames.dns1123LabelErrors)
            }

            if match.kind == .portForward {
                return .success(try portForwardRequest(match, node: node, namespace: namespace, pod: pod,
                                                       podUID: podUID, parameters: parameters, rawTarget: rawTarget))
            }
            // Both flag styles are read on every form; either one saying true makes the flag true.
            let stdin = parameters.kubeletFlag("input") || parameters.apiserverFlag("stdin")
            let stdout = parameters.kubeletFlag("output") || parameters.apiserverFlag("stdout")
            let tty = parameters.kubeletFlag("tty") || parameters.apiserverFlag("tty")
            // As the kubelet does: a tty merges stderr first, then at least one stream must remain.
            let stderr = (parameters.kubeletFlag("error") || parameters.apiserverFlag("stderr")) && !tty
            guard stdin || stdout || stderr else {
                throw RequestError.badRequest("you must specify at least 1 of stdin, stdout, stderr")
            }

            var command: [String] = []
            if match.kind == .exec {
                command = parameters.all("command")
                guard !command.isEmpty else {
                    throw RequestError.badRequest("you must specify at least one command for the container")
                }
                if let index = command.firstIndex(where: { $0.utf8.contains(0) }) {
                    throw RequestError.badRequest("invalid command: argument \(index) contains a NUL byte")
                }
            }
            let execTarget = ExecTarget(node: node, namespace: namespace, pod: pod, container: container,
                                        podUID: podUID)
            return .success(ExecRequest(kind: match.kind, target: execTarget, command: command, stdin: stdin,
                                        stdout: stdout, stderr: stderr, tty: tty, pathForm: match.form,
                                        path: rawTarget))
        } catch let error as RequestError {
            return .failure(error)
        } catch {
            return .failure(.badRequest("\(error)"))
        }
    }

    /// Path and query of an origin-form target; an absolute-form target (`http://host/path`, sent by some
    /// proxies) is reduced to its path first.
    static func splitTarget(_ target: String) -> (path: Substring, query: Substring) {
        var rest = target[...]
        // Compared as bytes: this runs for every exec request, and lowercasing allocates.
        for scheme in ["http://", "https://"] where hasPrefixIgnoringASCIICase(rest.utf8, scheme.utf8) {
            rest = rest.dropFirst(scheme.count)
            rest = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
            break
        }
        if let fragment = rest.firstIndex(of: "#") { rest = rest[..<fragment] }
        guard let question = rest.firstIndex(of: "?") else { return (rest, "") }
        return (rest[..<question], rest[rest.index(after: question)...])
    }

    private static func hasPrefixIgnoringASCIICase(_ text: Substring.UTF8View, _ prefix: String.UTF8View) -> Bool {
        var bytes = text.makeIterator()
        for expected in prefix {
            guard let byte = bytes.next() else { return false }
            let lowered = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte
            guard lowered == expected else { return false }
        }
        return true
    }

    /// Every exec, attach or port-forward path has a raw segment that reads exactly `exec`, `attach`
    /// or `portForward`/`portforward`, so a target holding none of them is none: health checks and discovery leave here without building a
    /// String or splitting a path.
    static func mayNameExecOrAttach(_ target: String) -> Bool {
        let scanned = target.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            var i = 0
            let count = bytes.count
            while i + 4 <= count {
                switch bytes[i] {
                case UInt8(ascii: "e"):
                    if bytes[i + 1] == UInt8(ascii: "x"), bytes[i + 2] == UInt8(ascii: "e"),
                       bytes[i + 3] == UInt8(ascii: "c") { return true }
                case UInt8(ascii: "p"):
                    // `portForward` / `portforward`
                    if i + 5 <= count, bytes[i + 1] == UInt8(ascii: "o"), bytes[i + 2] == UInt8(ascii: "r"),
                       bytes[i + 3] == UInt8(ascii: "t"), bytes[i + 4] | 0x20 == UInt8(ascii: "f") { return true }
                case UInt8(ascii: "a"):
                    if i + 6 <= count, bytes[i + 1] == UInt8(ascii: "t"), bytes[i + 2] == UInt8(ascii: "t"),
                       bytes[i + 3] == UInt8(ascii: "a"), bytes[i + 4] == UInt8(ascii: "c"),
                       bytes[i + 5] == UInt8(ascii: "h") { return true }
                default:
                    break
                }
                i += 1
            }
            return false
        }
        return scanned ?? true
    }

    /// Percent-decodes a path segment, then validates it.
    private static func validated(_ raw: Substring, field: String,
                                  _ errors: (String) -> [String]) throws -> String {
        switch PercentDecoding.decode(raw, plusIsSpace: false) {
        case .success(let value): return try checked(value, field: field, errors)
        case .failure(let failure):
            throw RequestError.badRequest("invalid \(field) name \(goQuoted(String(raw))): \(describe(failure))")
        }
    }

    private static func checked(_ value: String, field: String, _ errors: (String) -> [String]) throws -> String {
        let problems = errors(value)
        guard problems.isEmpty else {
            let noun = field == "pod uid" ? field : field + " name"
            throw RequestError.badRequest("invalid \(noun) \(goQuoted(value)): " + problems.joined(separator: "; "))
        }
        return value
    }

    /// Pod UIDs are UUIDs in practice; accept any short token that cannot confuse a path or a log line.
    private static func uidErrors(_ value: String) -> [String] {
        let safe = value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                return true
            default:
                return false
            }
        }
        guard safe, (1...128).contains(value.utf8.count), value != ".", value != ".." else {
            return ["must be 1 to 128 letters, digits, '-', '_' or '.'"]
        }
        return []
    }

    private static func describe(_ failure: PercentDecoding.Failure) -> String {
        switch failure {
        case .badEscape(let escape): return "invalid URL escape \(goQuoted(escape))"
        case .notUTF8: return "not valid UTF-8"
        }
    }

    /// Go's `%q` for the texts that appear here.
    static func goQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count < 2 ? "0" : "") + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
