// swift-tools-version:6.0
import PackageDescription

// Codecs (HTTP1, SPDY, HTTP2, WebSocket) know nothing of exec; ExecModel knows nothing of I/O;
// Reactor is the only module that touches libevent. ExecBridge wires them together.
let package = Package(
    name: "ExecBridge",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "execbridge", targets: ["execbridge"]),
        // For the fuzz package in Fuzz/ (it depends on this one by path).
        .library(name: "ExecBridgeCore",
                 targets: ["ExecModel", "HTTP1", "SPDY", "HTTP2", "WebSocket", "Reactor", "ExecBridge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        // `--metrics-listen`: swift-metrics' API, exported in the Prometheus text format.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian's packages.
        .systemLibrary(name: "CLibevent", pkgConfig: "libevent_core",
                       providers: [.apt(["libevent-dev"])]),
        .systemLibrary(name: "CNghttp2", pkgConfig: "libnghttp2",
                       providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // Process, pty and pidfd helpers that need _GNU_SOURCE or variadic calls.
        .target(name: "CSystem"),

        // Pure values: the exec request, channels, versions, status encodings, routing.
        .target(name: "ExecModel"),
        // Codecs: bytes in, events out, bytes to write.
        .target(name: "HTTP1"),
        .target(name: "SPDY", dependencies: ["CZlib"]),
        .target(name: "HTTP2", dependencies: ["CNghttp2"]),
        .target(name: "WebSocket", dependencies: ["COpenSSL"]),
        // The only module that touches libevent.
        .target(name: "Reactor", dependencies: ["CLibevent", "COpenSSL"]),
        // Front door, frontends, bridge, backends, configuration.
        .target(name: "ExecBridge", dependencies: [
            "ExecModel", "HTTP1", "SPDY", "HTTP2", "WebSocket", "Reactor", "CSystem", "COpenSSL",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "execbridge", dependencies: [
            "ExecBridge",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "execbridge-bench", dependencies: ["ExecBridge", "ExecModel", "Reactor"], path: "Benchmarks/execbridge-bench"),

        .testTarget(name: "ExecModelTests", dependencies: ["ExecModel"]),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        .testTarget(name: "SPDYTests", dependencies: ["SPDY"]),
        .testTarget(name: "HTTP2Tests", dependencies: ["HTTP2"]),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket"]),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor"]),
        .testTarget(name: "ExecBridgeTests", dependencies: [
            "ExecBridge", "ExecModel", "SPDY", "HTTP2", "HTTP1", "Reactor",
            // deploy/prometheus/execbridge-alerts.yml is read as YAML.
            .product(name: "Yams", package: "Yams"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
