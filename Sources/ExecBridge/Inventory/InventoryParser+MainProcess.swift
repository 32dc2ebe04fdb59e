import Yams

/// A container's main process (`command`, `tty`, `stdin`, `stdinOnce`, `restartPolicy`).
extension InventoryParser {
    static let mainProcessKeys: Set<String> = ["command", "tty", "stdin", "stdinOnce", "restartPolicy"]

    /// Nil when the container declares no `command`; the flags alone are an error, since they would
    /// describe a process that never runs.
    func parseMainProcess(_ fields: [String: Node], at entry: String) throws -> MainProcessSpec? {
        guard let commandNode = fields["command"], !isNull(commandNode) else {
            if let stray = Self.mainProcessKeys.sorted().first(where: { fields[$0].map { !isNull($0) } ?? false }) {
                throw failure(entry + "." + stray, fields[stray], "needs a \"command\" (the main process it describes)")
            }
            return nil
        }
        let at = entry + ".command"
        guard case .sequence(let items) = commandNode, !items.isEmpty else {
            throw failure(at, commandNode, "must be a non-empty list of arguments, e.g. [sh, -c, 'exec my-server']")
        }
        guard items.count <= MainProcessSpec.maximumArguments else {
            throw failure(at, commandNode, "more than \(MainProcessSpec.maximumArguments) arguments")
        }
        var command: [String] = []
        var bytes = 0
        for (index, item) in items.enumerated() {
            guard case .scalar(let scalar) = item, !isNull(item) else {
                throw failure("\(at)[\(index)]", item, "must be a plain string")
            }
            let argument = scalar.string
            if argument.utf8.contains(0) {
                throw failure("\(at)[\(index)]", item, "must not contain a NUL byte")
            }
            if index == 0 && argument.isEmpty {
                throw failure("\(at)[0]", item, "the program must not be empty")
            }
            bytes += argument.utf8.count + 1
            guard bytes <= MainProcessSpec.maximumArgumentBytes else {
                throw failure(at, commandNode, "longer than \(MainProcessSpec.maximumArgumentBytes) bytes")
            }
            command.append(argument)
        }
        var policy = MainProcessSpec.RestartPolicy.always
        if let text = try optionalString(fields["restartPolicy"], at: entry + ".restartPolicy") {
            guard let value = MainProcessSpec.RestartPolicy(rawValue: text) else {
                let names = MainProcessSpec.RestartPolicy.allCases.map(\.rawValue).joined(separator: ", ")
                throw failure(entry + ".restartPolicy", fields["restartPolicy"], "must be one of \(names), not \"\(text)\"")
            }
            policy = value
        }
        return MainProcessSpec(command: command, tty: try flag(fields, "tty", at: entry),
                               stdin: try flag(fields, "stdin", at: entry),
                               stdinOnce: try flag(fields, "stdinOnce", at: entry), restartPolicy: policy)
    }

    private func flag(_ fields: [String: Node], _ key: String, at entry: String) throws -> Bool {
        guard let node = fields[key], !isNull(node) else { return false }
        guard let value = node.bool else { throw failure(entry + "." + key, node, "must be true or false") }
        return value
    }
}
