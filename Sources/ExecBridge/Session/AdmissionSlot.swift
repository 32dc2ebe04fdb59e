import Synchronization

/// The place one admitted request holds in the session limits. Every copy of a request's context
/// shares one slot; it is released when the session ends, when the request is refused after
/// admission, or at the latest when the last copy of the context goes away (a session that never
/// started), so that no path can leak a place.
public final class AdmissionSlot: Sendable {
    private let held = Mutex<(@Sendable () -> Void)?>(nil)

    public init() {}

    /// Admission took the place; `release` gives it back to the limits that granted it.
    func hold(release: @escaping @Sendable () -> Void) {
        held.withLock { $0 = release }
    }

    /// Gives the place back; later calls do nothing.
    public func release() {
        let taken = held.withLock { value -> (@Sendable () -> Void)? in
            let taken = value
            value = nil
            return taken
        }
        taken?()
    }

    deinit { release() }
}
