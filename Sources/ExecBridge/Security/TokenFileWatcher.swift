import Logging
import Reactor

/// One worker's view of `--token-file`: rereads the file when it changed, looking at most once per
/// `interval` (on the worker's loop, when a token is presented; no thread, no timer). A file that
/// cannot be read or parsed keeps the previous table (a half-written file must not lock everyone
/// out); the error is logged by line number only.
final class TokenFileWatcher {
    private let path: String
    private let interval: Double
    private let logger: Logger
    private var table: TokenTable
    private var signature: SecurityFiles.Signature?
    private var lastCheck: Double
    private var reportedFailure: SecurityFiles.Signature??

    init(path: String, table: TokenTable, signature: SecurityFiles.Signature?, interval: Double, logger: Logger) {
        self.path = path
        self.table = table
        self.signature = signature
        self.interval = interval
        self.logger = logger
        self.lastCheck = EventLoop.now()
    }

    var current: TokenTable {
        let now = EventLoop.now()
        if now - lastCheck >= interval {
            lastCheck = now
            reloadIfChanged()
        }
        return table
    }

    /// The table a SIGHUP reload read (already validated).
    func replace(_ fresh: TokenTable, signature seen: SecurityFiles.Signature?) {
        table = fresh
        signature = seen
        reportedFailure = nil
        lastCheck = EventLoop.now()
    }

    private func reloadIfChanged() {
        let seen = SecurityFiles.signature(path)
        guard seen != signature else { return }
        do {
            let fresh = try TokenTable.load(path: path)
            table = fresh
            signature = seen
            reportedFailure = nil
            logger.info("token file reloaded", metadata: ["path": "\(path)", "tokens": "\(fresh.count)"])
        } catch {
            // Once per version of the file, not once per second.
            if reportedFailure != .some(seen) {
                reportedFailure = .some(seen)
                logger.error("token file not reloaded; keeping the previous tokens",
                             metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }
}
