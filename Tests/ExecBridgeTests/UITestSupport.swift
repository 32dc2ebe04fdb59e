@testable import ExecBridge
import Foundation
import Glibc
import Reactor
import XCTest

/// A gateway with `--ui` (or without), security installed from fresh files, the repository's own
/// `ui/` files, and a stand-in for Debian's xterm files (every listed module a one-liner), so
/// that the HTTP side is tested without the packages installed.
final class UIGateway {
    let dir: String
    let harness: GatewayHarness
    let logs = LogCapture()
    var port: UInt16 { harness.port }
    var auditPath: String { dir + "/audit.log" }
    var recordDir: String { dir + "/casts" }

    static let repositoryUI = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("ui").path

    init(ui: Bool = true, tokens: String? = nil, policy: String? = nil, inventory: String? = nil,
         recordings: Bool = true, xterm: Bool = true, clientCA: Bool = false) throws {
        dir = NSTemporaryDirectory() + "execbridge-ui-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/casts", withIntermediateDirectories: true)
        var security = SecuritySettings()
        if let tokens {
            try tokens.write(toFile: dir + "/tokens.csv", atomically: true, encoding: .utf8)
            security.tokenFile = dir + "/tokens.csv"
            security.tokenReloadInterval = 0
        }
        if let policy {
            try policy.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
            security.policyFile = dir + "/policy.yaml"
        }
        security.auditLog = dir + "/audit.log"
        var tls: TLSContext?
        if clientCA {
            let server = try TestCertificate.shared()
            security.clientCA = try SecurityCertificates.shared().clientCA
            tls = try TLSContext(certificate: server.cert, key: server.key, clientCA: security.clientCA)
        }
        var settings = UISettings()
        settings.assetsDirectory = Self.repositoryUI
        settings.xtermModules = dir + "/xterm/lib"
        settings.xtermBrowser = dir + "/xterm/browser"
        settings.recordDirectory = recordings ? dir + "/casts" : nil
        if xterm { try Self.fakeXterm(in: dir + "/xterm") }
        let parsedInventory = try inventory.map { try Inventory(yaml: $0) }
        let logger = logs.logger
        var failure: Error?
        let (secured, chosen) = (security, settings)
        harness = try GatewayHarness(configure: { config in
            config.logger = logger
            config.tls = tls
            do {
                try secured.install(into: &config)
                if ui { try config.serveUI(chosen) }
            } catch { failure = error }
        }, backend: { _ in LocalBackend(inventory: parsedInventory, logger: logger, graceSeconds: 1) })
        if let failure { throw failure }
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    static func fakeXterm(in root: String) throws {
        for name in XtermBundle.moduleNames {
            let path = root + "/lib/" + name + ".js"
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try "exports.name = \"\(name)\";\n//# sourceMappingURL=\(name).js.map\n".write(toFile: path, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: root + "/browser/addons/fit", withIntermediateDirectories: true)
        try "exports.fit = function () {};\n".write(toFile: root + "/browser/addons/fit/fit.js", atomically: true, encoding: .utf8)
        try ".xterm { position: relative; }\n".write(toFile: root + "/browser/xterm.css", atomically: true, encoding: .utf8)
    }

    struct Answer {
        var status: Int
        var head: String
        var body: String

        func header(_ name: String) -> String? {
            head.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
        }
    }

    func get(_ target: String, token: String? = nil, method: String = "GET", headers: [(String, String)] = [],
             file: StaticString = #filePath, line: UInt = #line) -> Answer {
        guard let socket = try? RawSocket(port: port) else {
            XCTFail("connect", file: file, line: line)
            return Answer(status: 0, head: "", body: "")
        }
        var extra = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        for (name, value) in headers { extra += "\(name): \(value)\r\n" }
        socket.send("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\(extra)Connection: close\r\n\r\n")
        guard let response = socket.readResponse() else {
            XCTFail("no response to \(target)", file: file, line: line)
            return Answer(status: 0, head: "", body: "")
        }
        return Answer(status: response.status, head: response.head, body: response.body)
    }

    /// `curl` over TLS (HTTP/2 by ALPN) with `certificate`, as a browser presents one: the status and body.
    func curlTLS(_ target: String, certificate: String?) throws -> (status: Int, body: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw XCTSkip("curl is not installed") }
        var arguments = ["-sS", "--max-time", "20", "--cacert", try TestCertificate.shared().cert, "-w", "\n%{http_code}",
                         "https://127.0.0.1:\(port)\(target)"]
        if let certificate {
            let files = try SecurityCertificates.shared().cert(certificate)
            arguments += ["--cert", files.cert, "--key", files.key]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let cut = text.lastIndex(of: "\n") ?? text.startIndex
        return (Int(text[cut...].dropFirst()) ?? 0, String(text[..<cut]))
    }

    /// A recording file as the gateway writes it (header first), for the user the header names.
    @discardableResult
    func writeRecording(fileUser: String, headerUser: String, session: String, output: String = "hello") throws -> String {
        let name = "20261206T0522\(session.prefix(2))Z-\(session)-\(fileUser).cast"
        let header = #"{"version":2,"width":80,"height":24,"timestamp":1796534400,"command":"sh","title":"t","execbridge":{"session":"\#(session)","user":"\#(headerUser)","target":{"node":null,"namespace":"default","pod":"web","container":"app"},"generation":"WebSocket","version":"v5.channel.k8s.io","tty":true}}"#
        try (header + "\n[0.100000, \"o\", \"\(output)\"]\n").write(toFile: recordDir + "/" + name, atomically: true, encoding: .utf8)
        return name
    }

    func auditLines(atLeast count: Int) -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(10)
        var lines: [String] = []
        repeat {
            lines = ((try? String(contentsOfFile: auditPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            if lines.count >= count { break }
            usleep(10_000)
        } while Date() < deadline
        return lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}
