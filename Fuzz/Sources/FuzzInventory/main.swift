@testable import ExecBridge
import FuzzSupport

// The inventory YAML (libyaml through Yams, then the parser's own checks).
fuzzMain { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? InventoryParser(source: "fuzz").parse(text)
}
