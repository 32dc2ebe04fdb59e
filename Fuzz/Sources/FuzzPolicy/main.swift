@testable import ExecBridge
import FuzzSupport

// The access policy YAML.
fuzzMain { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? PolicyParser(source: "fuzz").parse(text)
}
