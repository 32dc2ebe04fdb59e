// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for every decoder of the gateway; built apart from the main package so that
// `swift build` and `swift test` there stay untouched. See docs/reliability.md and `make fuzz`.
let core: Target.Dependency = .product(name: "ExecBridgeCore", package: "ExecBridge")

let targets = ["FuzzHTTP1Head", "FuzzSPDYFrames", "FuzzSPDYSession", "FuzzWebSocketFrames",
               "FuzzWebSocketConnection", "FuzzHTTP2Server", "FuzzExecRouter", "FuzzExecJSON",
               "FuzzInventory", "FuzzPolicy", "FuzzTokenFile", "FuzzRecording", "FuzzNodeAddresses"]

let package = Package(
    name: "ExecBridgeFuzz",
    dependencies: [
        .package(name: "ExecBridge", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
    ] + targets.map { name in
        .executableTarget(name: name, dependencies: [
            "FuzzSupport", core, .product(name: "Logging", package: "swift-log"),
        ])
    } + [
        // Writes Fuzz/corpus/ from the transcripts and test vectors (see `make fuzz-seeds`).
        .executableTarget(name: "FuzzSeeds", dependencies: [core]),
    ],
    swiftLanguageModes: [.v6]
)
