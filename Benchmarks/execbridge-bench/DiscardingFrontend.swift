import ExecBridge
import ExecModel

/// The cheapest possible client side of a session: counts the bytes it is given and drops them,
/// holds nothing (`pendingBytes` 0), so the bridge never pauses the backend. What remains is the
/// cost of the local backend and the bridge alone.
final class DiscardingFrontend: SessionEndpoint {
    private(set) var bytes = 0
    private(set) var status: ExecStatus?

    func receive(_ event: SessionEvent) {
        switch event {
        case .data(_, let payload): bytes += payload.count
        case .exit(let status): self.status = status
        case .halfClose, .resize: break
        }
    }

    var pendingBytes: Int { 0 }
    func setReading(_ on: Bool) {}
    func terminate(_ reason: EndReason) {}
}
