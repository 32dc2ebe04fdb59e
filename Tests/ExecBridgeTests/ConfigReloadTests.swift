@testable import ExecBridge
import Foundation
import Glibc
import XCTest

/// SIGHUP rereads the inventory, policy, token file and TLS certificate of a running
/// `execbridge serve`, without dropping a session.
final class ConfigReloadTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "execbridge-reload-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func url(_ port: UInt16, scheme: String = "http") -> String {
        "\(scheme)://127.0.0.1:\(port)/exec/default/demo/app"
    }

    private func hangUp(_ gateway: ServeProcess, expecting text: String) -> String {
        kill(gateway.pid, SIGHUP)
        return gateway.log(waitingFor: text)
    }

    func testTokenRotationKeepsTheRunningSessionAndSwitchesNewOnes() throws {
        let tokens = try write("tokens.csv", "old-t0ken-aaaa,alice,1\n")
        let gateway = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--token-file", tokens])
        // A session that waits for the test, then sends 50000 lines: it spans the reload.
        let long = try ExecProcess(["-i", "--token", "old-t0ken-aaaa", url(gateway.port), "--",
                                    "sh", "-c", "echo ready; read x; seq 1 50000; exit 7"])
        XCTAssertTrue(long.waitForOutput("ready\n"))

        try "new-t0ken-bbbb,bob,2\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        let log = hangUp(gateway, expecting: "configuration reloaded")
        XCTAssertTrue(log.contains("configuration reloaded"), log)
        XCTAssertTrue(log.contains("reload=1"), log)
        XCTAssertTrue(log.contains("token-file=sha256:"), log)
        XCTAssertFalse(log.contains("t0ken"), "no token in the log: \(log)")

        let old = try ExecProcess.run(["--token", "old-t0ken-aaaa", url(gateway.port), "--", "true"])
        XCTAssertEqual(old.status, 1, old.err)
        XCTAssertTrue(old.err.contains("401"), old.err)
        let new = try ExecProcess.run(["--token", "new-t0ken-bbbb", url(gateway.port), "--", "echo", "hi"])
        XCTAssertEqual(new.status, 0, new.err)
        XCTAssertEqual(new.out, "hi\n")

        long.input.fileHandleForWriting.write(Data("go\n".utf8))
        let finished = long.finish()
        XCTAssertEqual(finished.status, 7, finished.err)
        XCTAssertEqual(finished.out, "ready\n" + (1...50000).map { "\($0)\n" }.joined())
    }

    func testABrokenPolicyKeepsTheOldOneAndTheLogNamesFileAndLine() throws {
        let tokens = try write("tokens.csv", "alice-t0ken,alice,1\nbob-t0ken,bob,2\n")
        let policy = try write("policy.yaml", "rules:\n  - users: [alice]\n")
        let gateway = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--token-file", tokens, "--policy", policy])
        func run(_ token: String) throws -> (status: Int32, out: String, err: String) {
            try ExecProcess.run(["--token", token, url(gateway.port), "--", "echo", "in"])
        }
        XCTAssertEqual(try run("alice-t0ken").status, 0)
        XCTAssertEqual(try run("bob-t0ken").status, 1)

        // Line 3 has a key rules do not have: the whole file is refused.
        try "rules:\n  - users: [alice]\n    colour: blue\n  - users: [bob]\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let log = hangUp(gateway, expecting: "configuration not reloaded")
        XCTAssertTrue(log.contains("configuration not reloaded; keeping the previous one"), log)
        XCTAssertTrue(log.contains("\(policy):3"), log)
        XCTAssertEqual(try run("alice-t0ken").status, 0)
        let bob = try run("bob-t0ken")
        XCTAssertEqual(bob.status, 1, "the old policy still applies")
        XCTAssertTrue(bob.err.contains("403"), bob.err)

        try "rules:\n  - users: [alice, bob]\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let fixed = hangUp(gateway, expecting: "configuration reloaded")
        XCTAssertTrue(fixed.contains("reload=2") && fixed.contains("policy=sha256:"), fixed)
        XCTAssertEqual(try run("bob-t0ken").out, "in\n")
    }

    func testInventoryChangeShowsInDiscovery() throws {
        let pod = { (name: String) in "  - namespace: default\n    name: \(name)\n    containers:\n      - name: app\n" }
        let inventory = try write("inventory.yaml", "pods:\n" + pod("demo"))
        let gateway = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--inventory", inventory])
        func pods() throws -> String {
            let socket = try RawSocket(port: gateway.port)
            socket.send("GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let response = socket.readResponse()
            XCTAssertEqual(response?.status, 200)
            return response?.body ?? ""
        }
        XCTAssertFalse(try pods().contains("\"extra\""))
        XCTAssertEqual(try ExecProcess.run([url(gateway.port).replacingOccurrences(of: "demo", with: "extra"), "--", "true"]).status, 1)

        try ("pods:\n" + pod("demo") + pod("extra")).write(toFile: inventory, atomically: true, encoding: .utf8)
        _ = hangUp(gateway, expecting: "configuration reloaded")
        XCTAssertTrue(try pods().contains("\"extra\""))
        let extra = try ExecProcess.run([url(gateway.port).replacingOccurrences(of: "demo", with: "extra"), "--", "echo", "x"])
        XCTAssertEqual(extra.status, 0, extra.err)
    }

    func testCertificateRotationServesTheNewOneAndKeepsTheOpenTLSSession() throws {
        let (certA, keyA) = try makeCertificate("a")
        let (certB, keyB) = try makeCertificate("b")
        let cert = dir + "/served.pem", key = dir + "/served.key"
        try FileManager.default.copyItem(atPath: certA, toPath: cert)
        try FileManager.default.copyItem(atPath: keyA, toPath: key)
        let gateway = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key])
        XCTAssertEqual(try servedFingerprint(gateway.port), try fingerprint(certA))

        let long = try ExecProcess(["-i", "--protocol", "h2", "--insecure-skip-tls-verify", url(gateway.port, scheme: "https"),
                                    "--", "sh", "-c", "echo ready; read x; seq 1 20000"])
        XCTAssertTrue(long.waitForOutput("ready\n"))

        for (from, to) in [(certB, cert), (keyB, key)] {
            try FileManager.default.removeItem(atPath: to)
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
        let log = hangUp(gateway, expecting: "configuration reloaded")
        XCTAssertTrue(log.contains("tls-cert=sha256:"), log)
        XCTAssertEqual(try servedFingerprint(gateway.port), try fingerprint(certB))

        long.input.fileHandleForWriting.write(Data("go\n".utf8))
        let finished = long.finish()
        XCTAssertEqual(finished.status, 0, finished.err)
        XCTAssertEqual(finished.out, "ready\n" + (1...20000).map { "\($0)\n" }.joined())

        // A key that does not match the certificate: refused, the previous pair stays.
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.copyItem(atPath: keyA, toPath: key)
        let refused = hangUp(gateway, expecting: "configuration not reloaded")
        XCTAssertTrue(refused.contains("--tls-cert/--tls-key"), refused)
        XCTAssertEqual(try servedFingerprint(gateway.port), try fingerprint(certB))
    }

    /// Client CA rotation: certificates of the new CA identify callers, those of the old one no more.
    func testClientCARotation() throws {
        let files = try SecurityCertificates.shared()
        let server = try TestCertificate.shared()
        let clientCA = dir + "/client-ca.pem"
        try FileManager.default.copyItem(atPath: files.clientCA, toPath: clientCA)
        let gateway = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--tls-cert", server.cert, "--tls-key", server.key,
                                        "--client-ca", clientCA])
        func run(_ name: String) throws -> (status: Int32, out: String, err: String) {
            let (cert, key) = files.cert(name)
            return try ExecProcess.run(["--protocol", "h2", "--insecure-skip-tls-verify", "--cert", cert, "--key", key,
                                        url(gateway.port, scheme: "https"), "--", "echo", name])
        }
        XCTAssertEqual(try run("alice").out, "alice\n")
        XCTAssertEqual(try run("impostor").status, 1)

        try FileManager.default.removeItem(atPath: clientCA)
        try FileManager.default.copyItem(atPath: files.dir + "/other-ca.pem", toPath: clientCA)
        let log = hangUp(gateway, expecting: "configuration reloaded")
        XCTAssertTrue(log.contains("client-ca=sha256:"), log)
        let impostor = try run("impostor")
        XCTAssertEqual(impostor.status, 0, impostor.err)
        XCTAssertEqual(impostor.out, "impostor\n")
        let alice = try run("alice")
        XCTAssertEqual(alice.status, 1)
        XCTAssertTrue(alice.err.contains("401"), alice.err)
    }

    // MARK: Certificates with the openssl command

    private func openssl(_ arguments: [String], stdin: FileHandle? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    private func makeCertificate(_ name: String) throws -> (String, String) {
        let cert = dir + "/\(name).pem", key = dir + "/\(name).key"
        _ = try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost \(name)"])
        try XCTSkipUnless(FileManager.default.fileExists(atPath: cert), "openssl could not make a certificate")
        return (cert, key)
    }

    private func fingerprint(_ path: String) throws -> String {
        try openssl(["x509", "-in", path, "-noout", "-fingerprint", "-sha256"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The certificate a new TLS connection is shown.
    private func servedFingerprint(_ port: UInt16) throws -> String {
        let pem = try openssl(["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"])
        let path = dir + "/served-\(UUID().uuidString.prefix(6)).pem"
        try pem.write(toFile: path, atomically: true, encoding: .utf8)
        return try fingerprint(path)
    }
}
