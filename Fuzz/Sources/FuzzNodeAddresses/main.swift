@testable import ExecBridge
import ExecModel
import FuzzSupport

// The `--node-addresses` YAML: node names and the addresses the gateway will dial.
fuzzMain { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    guard let parsed = try? NodeAddresses(yaml: text, source: "fuzz") else { return }
    for (node, entry) in parsed.entries {
        expect(KubernetesNames.dns1123SubdomainErrors(node).isEmpty, "node \(node)")
        expect(!entry.host.isEmpty && entry.port != 0, "entry \(entry)")
        expect(!entry.host.contains("/") && !entry.host.contains("@"), "host \(entry.host)")
    }
}
