@testable import ExecBridge
import ExecModel
import Foundation
import HTTP2
import SPDY
import WebSocket

// Writes the seed corpora of Fuzz/corpus/ from the recorded transcripts (Compat/transcripts/*.txt,
// their client side re-encoded by the repository's own client codecs) and the unit-test vectors.
// Usage: FuzzSeeds <repository root>. Each file is a selector byte (see FuzzSupport.FuzzInput) then input.
let root = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "."
let corpus = root + "/Fuzz/corpus"

func seed(_ target: String, _ name: String, selector: UInt8, _ bytes: [UInt8]) {
    let directory = corpus + "/" + target
    try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: directory + "/" + name, contents: Data([selector] + bytes))
}

func text(_ string: String) -> [UInt8] { Array(string.utf8) }

let preface = text("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
let transcripts = try FileManager.default.contentsOfDirectory(atPath: root + "/Compat/transcripts")
    .filter { $0.hasSuffix(".txt") }.sorted()
var targets: [String] = []

for file in transcripts {
    let name = String(file.dropLast(4))
    let lines = try String(contentsOfFile: root + "/Compat/transcripts/" + file, encoding: .utf8)
        .split(separator: "\n").filter { $0.hasPrefix("> ") || $0.hasPrefix("< ") }
    let records = lines.compactMap { TraceRecord(line: $0) }
    for record in records where record.direction == .toServer {
        if let target = record["target"] { targets.append(target) }
        if let path = record.headers.first(where: { $0.name == ":path" })?.value { targets.append(path) }
    }
    let client = try replay(records)
    if !client.head.isEmpty {
        seed("FuzzHTTP1Head", name, selector: 0, client.head)
        seed("FuzzHTTP1Head", name + "-split1", selector: 1, client.head)
    }
    if client.generation == "spdy" {
        seed("FuzzSPDYFrames", name, selector: 0, client.frames)
        seed("FuzzSPDYSession", name, selector: 0, client.frames)
        seed("FuzzSPDYSession", name + "-split7", selector: 4, client.frames)
        seed("FuzzHTTP2Server", name, selector: 1, client.head + client.frames)
    } else if client.head.isEmpty {
        seed("FuzzHTTP2Server", name, selector: 0, client.frames)
        seed("FuzzHTTP2Server", name + "-twowrites", selector: 2 | (8 << 2), client.frames)
    } else {
        seed("FuzzHTTP2Server", name, selector: 1, client.head + preface + client.frames)
    }
}

// HTTP/1.1 heads the front door serves itself, and the answers the clients read.
let health = text("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\nGET /readyz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
seed("FuzzHTTP1Head", "health-pipelined", selector: 0, health)
seed("FuzzHTTP2Server", "health-pipelined", selector: 1, health)
seed("FuzzHTTP1Head", "response-101", selector: 0x80, text(
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n"))
seed("FuzzHTTP1Head", "chunked-post", selector: 0, text(
    "POST /api/v1/namespaces/default/pods/web/exec?command=cat&stdin=true HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))

// The WebSocket channel protocol: upgrade head, then masked client frames (stdin, its v5 close, a ping, close).
let wsHead = text("GET /api/v1/namespaces/default/pods/web/exec?command=cat&stdin=true&stdout=true HTTP/1.1\r\n"
    + "Host: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n\r\n")
let wsWire = Wire()
let ws = WebSocketConnection(role: .client, maskingKeySource: { WebSocketMaskingKey(1, 2, 3, 4) })
ws.delegate = wsWire
_ = ws.sendBinary(UnsafeRawBufferPointer(start: nil, count: 0), fin: false)
_ = [UInt8]([0]).withUnsafeBytes { ws.sendBinary($0, fin: false) }
_ = text("hello\n").withUnsafeBytes { ws.sendBinary($0, fin: true) }
_ = [UInt8]([4]).withUnsafeBytes { ws.sendBinary($0) }
_ = text(#"{"Width":80,"Height":24}"#).withUnsafeBytes { ws.sendBinary($0) }
_ = ws.ping()
_ = [UInt8]([255, 0]).withUnsafeBytes { ws.sendBinary($0) }
_ = ws.sendText("0aGVsbG8=")
ws.close(code: .normalClosure, reason: "done")
seed("FuzzWebSocketFrames", "client-session", selector: 0, wsWire.bytes)
seed("FuzzWebSocketConnection", "client-session", selector: 0, wsWire.bytes)
seed("FuzzWebSocketConnection", "client-session-split3", selector: 3, wsWire.bytes)
seed("FuzzHTTP1Head", "websocket-upgrade", selector: 0, wsHead)
seed("FuzzHTTP2Server", "websocket-v5", selector: 1, wsHead + wsWire.bytes)

// HTTP/2 prior knowledge: health check, a single-stream exec with stdin, an extended CONNECT (RFC 8441).
for (name, headers, body) in [
    ("h2-healthz", [(":method", "GET"), (":scheme", "http"), (":authority", "gw"), (":path", "/healthz")], [UInt8]()),
    ("h2-single-stream", [(":method", "POST"), (":scheme", "http"), (":authority", "gw"),
                          (":path", "/api/v1/namespaces/default/pods/web/exec?command=cat&stdin=true&stdout=true")],
     text("hello\n")),
    ("h2-extended-connect", [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                             (":authority", "gw"), (":path", "/api/v1/namespaces/default/pods/web/exec?command=cat&stdin=true&stdout=true"),
                             ("sec-websocket-version", "13"), ("sec-websocket-protocol", "v5.channel.k8s.io")],
     wsWire.bytes),
] {
    let wire = Wire()
    let session = HTTP2Session(role: .client, delegate: wire)
    try session.start()
    let id = try session.submitRequest(headers: headers.map { HTTP2Header($0.0, $0.1) }, hasBody: !body.isEmpty)
    if !body.isEmpty {
        _ = try session.sendData(body, stream: id)
        try session.endStream(id)
    }
    session.flush()
    seed("FuzzHTTP2Server", name, selector: 0, Array(wire.bytes.dropFirst(preface.count)))
}

// Scripts for FuzzHTTP2Server's structured mode (FrameScript): a single-stream exec with stdin, and
// a channel-stream session (error, stdin, stdout) whose stdin ends.
seed("FuzzHTTP2Server", "script-single-stream", selector: 0x80, [0, 0, 0, 4, 0, 6 << 3 | 1])
seed("FuzzHTTP2Server", "script-channels", selector: 0x80, [1, 0, 0x00, 1, 1, 0x20, 1, 2, 0x40, 10, 0, 4, 1, 5 << 3 | 1])

// SPDY control frames beyond the transcripts: settings, ping, window update, reset, goaway.
do {
    let wire = Wire()
    let session = SPDYSession(role: .client, delegate: wire)
    try session.sendSettings([])
    let id = try session.openStream(headers: [("streamtype", "stdin")])
    wire.bytes += spdyData(id, text("abc"), fin: false)
    session.sendWindowUpdate(0, delta: 65536)
    _ = session.ping()
    session.reset(id)
    session.goAway()
    seed("FuzzSPDYFrames", "control-frames", selector: 0, wire.bytes)
    seed("FuzzSPDYSession", "control-frames", selector: 0, wire.bytes)
}

// Router targets: every path of the transcripts, and the other path forms of the spec.
targets += [
    "/exec/default/web/app?command=ls&command=-l&input=1&output=1",
    "/attach/default/web/app?input=1&output=1&tty=1",
    "/api/v1/nodes/node1/proxy/exec/default/web/app?command=true&output=1",
    "/exec/default/web/0b8a2a9e-0000-4000-8000-000000000001/app?command=id&error=1",
    "/api/v1/namespaces/default/pods/web/attach?container=app&stdin=true&stdout=true&tty=true",
    "http://gw:8080/api/v1/namespaces/default/pods/web/exec?command=a%20b&command=%E2%9C%93&stdout=1#frag",
]
for (index, target) in Set(targets).sorted().enumerated() {
    seed("FuzzExecRouter", "target-\(index)", selector: UInt8(index % 2), text(target))
}

// JSON: resize objects and every status encoding the gateway writes.
seed("FuzzExecJSON", "resize-stream", selector: 1, text("{\"Width\":100,\"Height\":40}\n{\"width\":1,\"HEIGHT\":2,\"x\":[{}]}\n"))
let statuses: [ExecStatus] = [.success, .exited(3), .signaled(9), .internalError("container not found (\"web\")"),
                              .failure(message: "stream idle too long", reason: "Timeout", code: 504)]
for (index, status) in statuses.enumerated() {
    seed("FuzzExecJSON", "status-\(index)-v4", selector: 0, status.encoded(for: .v4))
    seed("FuzzExecJSON", "status-\(index)-v1", selector: 0, status.encoded(for: .v1))
}

// The known HTTP/2 crash of issue 13 (exec HEADERS on stream 1, RST_STREAM 1, exec HEADERS on stream 3,
// one write): kept out of the corpus, as a regression input for FuzzHTTP2Server.
do {
    let wire = Wire()
    let session = HTTP2Session(role: .client, delegate: wire)
    try session.start()
    let exec = [(":method", "POST"), (":scheme", "http"), (":authority", "gw"),
                (":path", "/api/v1/namespaces/default/pods/web/exec?command=cat&stdin=true&stdout=true")]
        .map { HTTP2Header($0.0, $0.1) }
    let first = try session.submitRequest(headers: exec, hasBody: true)
    session.flush()
    session.resetStream(first, errorCode: 8)
    session.flush()
    _ = try session.submitRequest(headers: exec, hasBody: true)
    session.flush()
    try FileManager.default.createDirectory(atPath: root + "/Fuzz/regressions", withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: root + "/Fuzz/regressions/FuzzHTTP2Server-rst-then-headers",
                                   contents: Data([0] + wire.bytes.dropFirst(preface.count)))
}
