import Glibc

// execbridge-bench: the measuring half of scripts/bench. Each subcommand does one measurement and
// prints one line of key=value pairs; scripts/bench starts the servers and builds the table.
let usage = """
    usage: execbridge-bench bridge [--bytes 1G]
           execbridge-bench stream --proto spdy|h2|ws --port PORT [--bytes 1G]
           execbridge-bench sessions --proto spdy|h2|ws --port PORT [--count 1000] [--samples FILE]
           execbridge-bench spawn [--count 1] [--bytes N] [--stderr FILE] [--samples FILE]
                                  [--any-exit yes] -- COMMAND ARGS...
           execbridge-bench hold --proto spdy|h2|ws --port PORT --pid GATEWAY_PID [--count 1000]
                                 [--bytes N (burst: each session streams N bytes; default idle sleep)] [--wave 200]
           execbridge-bench splice-relay --port PORT --to UPSTREAM_PORT   (runs until killed)
           execbridge-bench free-port
    """

do {
    let args = try Arguments(Array(CommandLine.arguments.dropFirst()))
    switch args.subcommand {
    case "bridge": try BridgeThroughput.run(args)
    case "stream": try ClientStream.run(args)
    case "sessions": try ClientSessions.run(args)
    case "spawn": try SpawnRuns.run(args)
    case "hold": try HeldSessions.run(args)
    case "splice-relay": try SpliceRelay.run(args)
    case "free-port": try FreePort.run()
    case "-h", "--help", "help": print(usage)
    default: throw UsageError("unknown subcommand '\(args.subcommand)'")
    }
} catch {
    let message = Array("execbridge-bench: \(error)\n\(usage)\n".utf8)
    _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}
