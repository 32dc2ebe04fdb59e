@testable import ExecBridge
import ExecModel
import XCTest

/// `attach` through a forwarding gateway: each upstream scheme carries it like exec (the path
/// becomes `/attach/…` upstream), clients of other generations meet on the same main process.
final class AttachUpstreamTests: XCTestCase {
    func testAttachIsForwardedOnEveryUpstreamScheme() throws {
        for scheme in [UpstreamScheme.spdy, .h2c, .h2cUpgrade, .ws] {
            // restartPolicy Never: each scheme gets its own upstream with its own main process.
            let backend = try attachBackend(AttachTests.echoInventory)
            let pair = try UpstreamPair(scheme, upstreamConfig: { $0.makeBackend = backend })
            let clients = AttachClients(port: pair.gateway.port)
            let a = clients.open(.ws([.v5]), "/api/v1/namespaces/default/pods/web/attach?container=app&stdin=true&stdout=true")
            let b = clients.open(.spdy, "/proxy/nodes/n1/attach/default/web/app?stdin=1&stdout=1&stderr=1")
            XCTAssertTrue(clients.pump { [a, b].allSatisfy { $0.stdoutText.contains("ready\n") } }, "\(scheme)")
            a.type("via-\(scheme.rawValue)\n")
            XCTAssertTrue(clients.pump { [a, b].allSatisfy { $0.stdoutText.contains("got:via-\(scheme.rawValue)\n") } },
                          "\(scheme): \([a, b].map(\.stdoutText))")
            b.type("quit\n")
            XCTAssertTrue(clients.pump { a.status != nil && b.status != nil }, "\(scheme)")
            XCTAssertEqual(a.status?.exitCode, 7, "\(scheme)")
            XCTAssertEqual(b.status?.exitCode, 7, "\(scheme)")
            XCTAssertTrue(pair.seen.all.allSatisfy { $0.target.contains("/attach/") || $0.target.contains("/attach?") },
                          "\(scheme): \(pair.seen.all.map(\.target))")
            XCTAssertEqual(pair.seen.all.count, 2, "\(scheme)")
        }
    }
}
