import ExecModel
import Glibc

/// The pods and containers the local backend serves, read from a YAML file:
///
/// ```yaml
/// pods:
///   - node: node1            # optional; any node name matches when absent
///     namespace: default
///     name: web
///     containers:
///       - name: app
///         workingDir: /srv   # optional
///         env: {LANG: C.UTF-8}   # optional
///         user: nobody       # optional
///         command: [my-server, --port, "8080"]   # optional: the main process `attach` connects to
///         stdin: true        # with tty, stdinOnce, restartPolicy (MainProcessSpec)
/// ```
public struct Inventory: Equatable, Sendable {
    public var pods: [PodSpec]

    /// Largest file accepted: an inventory is configuration, not data.
    public static let maximumFileSize = 16 << 20

    public init(pods: [PodSpec]) {
        self.pods = pods
    }

    /// Parses YAML text; `source` names it in errors.
    public init(yaml: String, source: String = "<text>") throws {
        self.pods = try InventoryParser(source: source).parse(yaml)
    }

    /// Reads and parses the file at `path`. Throws `InventoryError`.
    public static func load(path: String) throws -> Inventory {
        try Inventory(yaml: try readFile(path), source: path)
    }

    /// The container a request targets, or the error to answer it with: 404 for an unknown
    /// namespace, pod (on that node) or container; 400 when the container is omitted and the pod has
    /// several. A pod entry without `node` answers to any node; a request without a node matches any.
    public func lookup(_ target: ExecTarget) -> Result<ContainerSpec, RequestError> {
        let inNamespace = pods.filter { $0.namespace == target.namespace }
        guard !inNamespace.isEmpty else {
            return .failure(.notFound("namespaces \"\(target.namespace)\" not found"))
        }
        guard let pod = inNamespace.first(where: { $0.name == target.pod && Self.nodeMatches($0.node, target.node) }) else {
            return .failure(.notFound("pods \"\(target.pod)\" not found"))
        }
        if let name = target.container {
            guard let container = pod.containers.first(where: { $0.name == name }) else {
                return .failure(.notFound("containers \"\(name)\" not found"))
            }
            return .success(container)
        }
        if pod.containers.count == 1 {
            return .success(pod.containers[0])
        }
        let names = pod.containers.map(\.name).joined(separator: " ")
        return .failure(.badRequest("a container name must be specified for pod \(pod.name), choose one of: [\(names)]"))
    }

    private static func nodeMatches(_ entry: String?, _ requested: String?) -> Bool {
        guard let entry, let requested else { return true }
        return entry == requested
    }

    private static func readFile(_ path: String) throws -> String {
        func failure(_ problem: String) -> InventoryError {
            InventoryError(source: path, entry: "", line: nil, problem: problem)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maximumFileSize {
                throw failure("larger than \(maximumFileSize >> 20) MiB")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw failure("not UTF-8 text")
        }
        return text
    }
}
