@testable import ExecBridge
import Foundation
import Glibc
import Reactor
import XCTest

/// One `GET /metrics` over a real socket, and the samples of its Prometheus text.
struct MetricsScrape {
    let status: Int
    let head: String
    let body: String
    /// `name{labels}` exactly as written → value.
    let samples: [String: Double]
    /// `# TYPE name kind` lines: family → kind.
    let types: [String: String]

    static func get(port: UInt16, path: String = "/metrics", host: String = "127.0.0.1", headers: [String] = [],
                    file: StaticString = #filePath, line: UInt = #line) throws -> MetricsScrape {
        let socket = try RawSocket(port: port)
        socket.send("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
        let text = String(decoding: socket.readAll(), as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else {
            XCTFail("no HTTP response: \(text)", file: file, line: line)
            return MetricsScrape(status: 0, head: text, body: "", samples: [:], types: [:])
        }
        let head = String(text[..<split.lowerBound])
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = String(text[split.upperBound...])
        var samples: [String: Double] = [:]
        var types: [String: String] = [:]
        for raw in body.split(separator: "\n") where status == 200 {
            let text = String(raw)
            if text.hasPrefix("# TYPE ") {
                let parts = text.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if text.hasPrefix("#") { continue }
            guard let space = text.lastIndex(of: " "), let value = Double(text[text.index(after: space)...]) else {
                XCTFail("not a sample line: \(text)", file: file, line: line)
                continue
            }
            samples[String(text[..<space])] = value
        }
        return MetricsScrape(status: status, head: head, body: body, samples: samples, types: types)
    }

    subscript(_ key: String) -> Double { samples[key] ?? 0 }

    /// How much each sample grew since `before` (samples that did not move are left out).
    func delta(since before: MetricsScrape) -> [String: Double] {
        var out: [String: Double] = [:]
        for (key, value) in samples where value != before[key] { out[key] = value - before[key] }
        return out
    }
}

extension GatewayHarness {
    /// A gateway serving `/metrics` on a free loopback port besides its exec listener.
    static func withMetrics(threads: Int = 1, security: SecuritySettings = SecuritySettings(),
                            metricsListen: String = "127.0.0.1:0",
                            configure: @escaping (inout GatewayConfig) -> Void = { _ in }) throws -> GatewayHarness {
        var failure: Error?
        let harness = try GatewayHarness(threads: threads, configure: { config in
            do {
                try security.install(into: &config)
                try config.serveMetrics(on: metricsListen, security: security)
            } catch { failure = error }
            configure(&config)
        })
        if let failure { throw failure }
        return harness
    }

    var metricsPort: UInt16 { gateway.metricsAddress?.port ?? 0 }
}
