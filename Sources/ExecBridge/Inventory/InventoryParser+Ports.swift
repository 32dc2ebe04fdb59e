import Yams

extension InventoryParser {
    /// `ports: [8080, 9090]`: the TCP ports port-forward may reach (1–65535, each once).
    func ports(_ node: Node?, at entry: String) throws -> [UInt16] {
        guard let node, !isNull(node) else { return [] }
        guard case .sequence(let items) = node else {
            throw failure(entry, node, "must be a list of port numbers, e.g. [8080, 9090]")
        }
        var ports: [UInt16] = []
        for (index, item) in items.enumerated() {
            guard case .scalar(let scalar) = item, let value = Int(scalar.string), (1...65535).contains(value) else {
                throw failure("\(entry)[\(index)]", item, "must be a port number from 1 to 65535")
            }
            guard !ports.contains(UInt16(value)) else {
                throw failure("\(entry)[\(index)]", item, "port \(value) is listed twice")
            }
            ports.append(UInt16(value))
        }
        return ports
    }
}
