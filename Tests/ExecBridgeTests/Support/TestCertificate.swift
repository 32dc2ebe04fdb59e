import Foundation

/// A self-signed certificate for localhost, made once per test run with the openssl command.
enum TestCertificate {
    nonisolated(unsafe) private static var made: (cert: String, key: String)?

    static func shared() throws -> (cert: String, key: String) {
        if let made { return made }
        let dir = NSTemporaryDirectory() + "execbridge-tls-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cert = dir + "/cert.pem", key = dir + "/key.pem"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        made = (cert, key)
        return (cert, key)
    }
}
