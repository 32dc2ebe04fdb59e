import Glibc
import Logging
import Reactor
import Synchronization

/// Told after every SIGHUP reload (the metrics component counts them:
/// `GatewayMetrics.configReloaded(ok:)`).
public protocol ConfigReloadObserver: Sendable {
    func configReloaded(ok: Bool)
}

/// SIGHUP: rereads `ReloadableFiles` once, validates all of them, and hands the new snapshot to
/// every worker on the worker's own loop (`loop.execute`: no lock on the data path, no worker ever
/// sees half a configuration). A file that does not load keeps the previous configuration
/// everywhere, and the log says which file and line.
final class ConfigReloader: Sendable {
    let files: ReloadableFiles
    private let logger: Logger
    private let observer: (any ConfigReloadObserver)?
    /// Reloads attempted, and those that failed (read by tests and by whoever exports metrics).
    let attempts = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    /// One reload at a time, so that snapshots reach every loop in the order they were read.
    private let serial = Mutex(())

    init(files: ReloadableFiles, logger: Logger, observer: (any ConfigReloadObserver)?) {
        self.files = files
        self.logger = logger
        self.observer = observer
    }

    /// The digests of the files the gateway started with, so that the log shows every version.
    func logStartingFiles() {
        let named = files.named
        guard !named.isEmpty else { return }
        var metadata: Logger.Metadata = ["reload": "0"]
        for (option, path) in named { metadata[option] = "\(FileDigest.short(path: path))" }
        logger.info("configuration loaded", metadata: metadata)
    }

    /// Builds on a thread of its own — reading files, resolving the inventory's users (a passwd
    /// lookup may block on NSS) never happens on a loop — then posts to each worker.
    func reload(into workers: [Worker]) {
        let box = UncheckedBox(workers)
        ReloadThread.start { [self] in
            serial.withLock { _ in perform(box.value) }
        }
    }

    private func perform(_ workers: [Worker]) {
        let generation = attempts.add(1, ordering: .relaxed).newValue
        let snapshot: ConfigSnapshot
        do {
            snapshot = try ConfigSnapshot.load(files, generation: generation)
        } catch {
            failures.add(1, ordering: .relaxed)
            logger.error("configuration not reloaded; keeping the previous one",
                         metadata: ["reload": "\(generation)", "error": "\(error)"])
            observer?.configReloaded(ok: false)
            return
        }
        for worker in workers {
            let box = UncheckedBox(worker)
            worker.loop.execute { box.value.apply(snapshot) }
        }
        var metadata: Logger.Metadata = ["reload": "\(generation)"]
        for (option, digest) in snapshot.digests { metadata[option] = "\(digest)" }
        logger.info("configuration reloaded", metadata: metadata)
        observer?.configReloaded(ok: true)
    }
}
