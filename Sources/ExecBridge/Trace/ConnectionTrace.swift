import ExecModel

public enum TraceGeneration: String, Sendable {
    case spdy
    case h2
}

/// The records of one connection, decoded from the bytes each way as the frontend reads and
/// writes them (its own decoders, so the frontends need only two one-line hooks). Bounded: past
/// `maxRecords` the rest is counted, not kept.
final class ConnectionTrace {
    static let maxRecords = 20_000

    private let sink: FrameTraceSink
    private let number: Int
    private let generation: TraceGeneration
    private var records: [TraceRecord] = []
    private var dropped = 0
    private var ended = false
    private let fromClient: FrameTraceDecoder
    private let fromServer: FrameTraceDecoder

    init(sink: FrameTraceSink, generation: TraceGeneration) {
        self.sink = sink
        self.number = sink.connectionNumber()
        self.generation = generation
        switch generation {
        case .spdy:
            fromClient = SPDYTraceDecoder(direction: .toServer)
            fromServer = SPDYTraceDecoder(direction: .toClient)
        case .h2:
            fromClient = HTTP2TraceDecoder(direction: .toServer, expectPreface: true)
            fromServer = HTTP2TraceDecoder(direction: .toClient, expectPreface: false)
        }
    }

    /// The HTTP/1.1 request that upgraded the connection and the gateway's 101 (SPDY, h2c).
    func upgraded(_ request: ExecRequest, context: RequestContext) {
        upgradedConnection = true
        append(Self.upgradeRecord(generation: generation.rawValue, method: context.method, target: context.target,
                                  headers: context.headers))
        var response = [TraceRecord.Field("status", "101")]
        if generation == .spdy, !request.offeredVersions.isEmpty {
            response.append(TraceRecord.Field("h:x-stream-protocol-version", request.version.token))
        }
        append(TraceRecord(.toClient, generation.rawValue, "RESPONSE", response))
    }

    /// Bytes the gateway read from the client.
    func client(_ bytes: UnsafeRawBufferPointer) {
        guard !ended else { return }
        sawClient = true
        fromClient.decode(bytes) { append($0) }
    }

    /// Bytes the gateway wrote to the client.
    func server(_ bytes: UnsafeRawBufferPointer) {
        guard !ended else { return }
        // A prior-knowledge HTTP/2 connection was handed over because its preface arrived: the
        // gateway answers only after it, though the frontend consumes those bytes later.
        if generation == .h2, !sawClient, !upgradedConnection, let decoder = fromClient as? HTTP2TraceDecoder {
            decoder.announcePreface { append($0) }
        }
        fromServer.decode(bytes) { append($0) }
    }

    private var sawClient = false
    private var upgradedConnection = false

    /// Writes the block; later bytes are ignored.
    func end() {
        guard !ended else { return }
        ended = true
        var block = "# connection \(number) \(generation.rawValue)\n"
        for record in records { block += record.description + "\n" }
        if dropped > 0 { block += "# \(dropped) more records not kept\n" }
        block += "# end connection \(number)\n"
        records = []
        sink.write(block: block)
    }

    deinit { end() }

    private func append(_ record: TraceRecord) {
        if records.count < Self.maxRecords { records.append(record) } else { dropped += 1 }
    }

    static func upgradeRecord(generation: String, method: String, target: String,
                              headers: [(name: String, value: String)]) -> TraceRecord {
        var fields = [TraceRecord.Field("method", method), TraceRecord.Field("target", target)]
        for (name, value) in headers {
            let lower = name.lowercased()
            fields.append(TraceRecord.Field("h:" + lower, SecretHeaders.value(name: lower, value: value)))
        }
        return TraceRecord(.toServer, generation, "UPGRADE", fields)
    }
}

/// Turns one direction's bytes into records.
protocol FrameTraceDecoder: AnyObject {
    func decode(_ bytes: UnsafeRawBufferPointer, _ emit: (TraceRecord) -> Void)
}
