import ExecModel
import Logging
import Reactor
import Synchronization

/// The gateway's main processes (inventory containers with a `command:`), all on ONE loop, the
/// owner: the first loop whose backend `adopt`s the hub, i.e. the first worker's. Attachers live on
/// any loop; everything between them and a main process crosses by `EventLoop.execute`, in both
/// directions, so no lock is taken on the data path and each object is touched only on its loop.
///
/// Memory stays bounded per attacher, whatever the peers do:
/// - output: the owner counts the bytes it sent an attacher and the attacher has not yet handed to
///   its client; an attacher more than `outputBacklog` behind is detached with a failure Status
///   (its output dropped, never the process paused: one slow client must not stall the container
///   or the other attachers, as with containerd and CRI-O);
/// - input: an attacher has at most `stdinWindow` bytes in flight toward the process and holds the
///   rest (its bridge pauses its client at the channel budget), so the process's stdin queue holds
///   at most `maximumAttachers × stdinWindow`.
public final class MainProcessHub: @unchecked Sendable {
    /// Bytes sent toward one attacher and not yet taken by its client before it is detached.
    static let outputBacklog = 1 << 20
    /// Bytes of one attacher's input in flight toward the process.
    static let stdinWindow = 64 * 1024
    /// Attachers of one main process at once; more get a failure Status.
    static let maximumAttachers = 16

    let logger: Logger
    let graceSeconds: Double
    private let entries: [(key: String, target: ExecTarget, container: ContainerSpec)]
    private let accounts: [String: Result<UserAccount, UserAccount.Unknown>]
    /// Set once, while the workers are built (before any loop runs); read when an attach starts.
    private let owner = Mutex<EventLoop?>(nil)
    private let nextID = Atomic<Int>(1)
    /// Main processes started and not yet reaped (a stopping gateway waits for them).
    let counter = LocalProcessSession.SessionCounter()

    /// Why each main process is not running now (nil while it runs), written on the owner loop and
    /// read at admission on any loop, so that an attach to a process that is down is refused before
    /// the upgrade, as kubelet refuses one to a container that is not running.
    /// (Admission only, never on the data path.)
    private let downReasons: Mutex<[String: String]>

    // Owner loop only.
    private var processes: [String: MainProcess] = [:]
    private var stopping = false

    /// `inventory`'s containers that declare a main process; users are resolved here, off the loops.
    public init(inventory: Inventory?, logger: Logger, graceSeconds: Double = 5) {
        self.logger = logger
        self.graceSeconds = graceSeconds
        var entries: [(key: String, target: ExecTarget, container: ContainerSpec)] = []
        for pod in inventory?.pods ?? [] {
            for container in pod.containers where container.main != nil {
                entries.append((Self.key(pod, container: container.name),
                                ExecTarget(node: pod.node, namespace: pod.namespace, pod: pod.name, container: container.name),
                                container))
            }
        }
        self.entries = entries
        // Nothing is down at first: an attach admitted before the first loop turn joins after the
        // start, which the owner loop runs first.
        self.downReasons = Mutex([:])
        self.accounts = UserAccount.resolveAll(Set(entries.compactMap(\.container.user)))
    }

    /// Whether any container declares a main process.
    public var isEmpty: Bool { entries.isEmpty }

    /// The first loop offered becomes the owner; the main processes start on its first turn.
    public func adopt(_ loop: EventLoop) {
        let first = owner.withLock { current -> Bool in
            guard current == nil else { return false }
            current = loop
            return true
        }
        guard first, !entries.isEmpty else { return }
        loop.execute { self.startAll(on: loop) }
    }

    var ownerLoop: EventLoop? { owner.withLock { $0 } }

    static func key(_ pod: PodSpec, container: String) -> String {
        "\(pod.namespace)/\(pod.name)@\(pod.node ?? "")/\(container)"
    }

    /// Nil while the main process of `key` runs; else why not (any loop).
    func notRunning(_ key: String) -> String? {
        guard entries.contains(where: { $0.key == key }) else { return "it has no main process" }
        return downReasons.withLock { $0[key] }
    }

    /// Owner loop: the main process of `key` started (nil) or went down (why).
    func setNotRunning(_ key: String, _ why: String?) {
        downReasons.withLock { $0[key] = why }
    }

    func makeAttacherID() -> Int { nextID.add(1, ordering: .relaxed).oldValue }

    private func startAll(on loop: EventLoop) {
        guard !stopping else { return }
        for entry in entries where processes[entry.key] == nil {
            let process = MainProcess(key: entry.key, target: entry.target, container: entry.container, loop: loop,
                                      hub: self, accounts: accounts)
            processes[entry.key] = process
            process.start()
        }
    }

    /// Called by each worker once its own sessions are over: on the owner loop the first call stops
    /// every main process (SIGTERM now, SIGKILL after the grace time, no restart). Returns how many
    /// are still to be reaped on `loop` (0 on every other loop).
    func stopAll(from loop: EventLoop) -> Int {
        guard loop === ownerLoop else { return 0 }
        if !stopping {
            stopping = true
            for process in processes.values { process.stop() }
        }
        return counter.value.load(ordering: .relaxed)
    }

    var isStopping: Bool { stopping }

    // MARK: - From attachers (any loop)

    /// Runs `body` with the main process of `key` on the owner loop; `orElse` when there is none.
    private func onOwner(_ key: String, _ body: @escaping @Sendable (MainProcess) -> Void) {
        ownerLoop?.execute { [self] in
            if let process = processes[key] { body(process) }
        }
    }

    func join(_ link: AttacherLink, key: String) {
        ownerLoop?.execute { [self] in
            guard let process = processes[key] else {
                return link.finish(.internalError("container \(link.target.container ?? "-") has no main process running"))
            }
            process.join(link)
        }
    }

    func input(_ bytes: [UInt8], from id: Int, key: String) { onOwner(key) { $0.input(bytes, from: id) } }
    func stdinEnded(from id: Int, key: String) { onOwner(key) { $0.stdinEnded(from: id) } }
    func resize(_ size: TerminalSize, from id: Int, key: String) { onOwner(key) { $0.resize(size) } }
    func leave(_ id: Int, key: String) { onOwner(key) { $0.leave(id) } }
    func acknowledgeOutput(_ count: Int, from id: Int, key: String) { onOwner(key) { $0.acknowledgeOutput(count, from: id) } }
}

/// What the owner loop knows of one attacher; its messages run on the attacher's loop.
struct AttacherLink: Sendable {
    let id: Int
    let loop: EventLoop
    let session: AttacherBox
    let target: ExecTarget
    /// The output channels the attacher's client opened.
    let stdout: Bool
    let stderr: Bool
    /// Output bytes sent and not yet acknowledged.
    var inFlight = 0
    /// Input bytes handed to the process and not yet acknowledged (its stdin queue was full).
    var inputUnacknowledged = 0

    func wants(_ channel: Channel) -> Bool {
        channel == .stdout ? stdout : channel == .stderr ? stderr : false
    }

    func deliver(_ channel: Channel, _ bytes: [UInt8]) {
        let session = self.session
        loop.execute { session.value.deliver(channel, bytes) }
    }

    func acknowledgeInput(_ count: Int) {
        let session = self.session
        loop.execute { session.value.acknowledgeInput(count) }
    }

    func finish(_ status: ExecStatus) {
        let session = self.session
        loop.execute { session.value.finish(status) }
    }
}

/// An attacher handed to the owner loop, which only ever sends it back to its own loop.
struct AttacherBox: @unchecked Sendable {
    let value: AttachSession
}
