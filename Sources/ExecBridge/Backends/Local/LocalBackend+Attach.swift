import ExecModel
import Reactor

/// `attach` on the local backend: to the main process of an inventory container (`MainProcessHub`).
extension LocalBackend {
    /// 404 for an unknown target, 400 for a container without a main process (kubelet answers
    /// an attach to a container that is not running with an error before any stream, too).
    func checkAttach(_ request: ExecRequest) -> RequestError? {
        guard let inventory else {
            return .badRequest("attach needs an inventory (--inventory) container that declares its main process (command:)")
        }
        switch inventory.lookup(request.target) {
        case .failure(let error):
            return error
        case .success(let container):
            guard container.main != nil, let hub = mainProcesses, hub.ownerLoop != nil,
                  inventory.mainProcessKey(for: request.target) != nil else {
                return .badRequest("container \(container.name) has no main process to attach to (no command: in the inventory)")
            }
            if let key = inventory.mainProcessKey(for: request.target), let why = hub.notRunning(key) {
                return .badRequest("container \(container.name) is not running: \(why)")
            }
            return nil
        }
    }

    func startAttachSession(_ request: ExecRequest, on loop: EventLoop,
                            delegate: SessionEndpointDelegate) -> SessionEndpoint {
        if let error = checkAttach(request) {
            return LocalProcessSession(failing: .failure(message: error.message, reason: error.reason, code: error.code),
                                       request: request, loop: loop, delegate: delegate, logger: logger)
        }
        guard let inventory, case .success(let container) = inventory.lookup(request.target),
              let spec = container.main, let key = inventory.mainProcessKey(for: request.target),
              let hub = mainProcesses else {
            return LocalProcessSession(failing: .internalError("attach target vanished"), request: request, loop: loop,
                                       delegate: delegate, logger: logger)
        }
        return AttachSession(request: request, spec: spec, key: key, hub: hub, loop: loop, delegate: delegate,
                             counter: attachCounter)
    }

    /// Stops the main processes once this loop is idle (the owner loop's worker only); returns
    /// how many are still to be reaped here.
    public func stopMainProcesses(on loop: EventLoop) -> Int {
        mainProcesses?.stopAll(from: loop) ?? 0
    }
}

extension Inventory {
    /// The `MainProcessHub` key of the container `target` names, with the pod matched as `lookup`
    /// matches it; nil when the container declares no main process.
    func mainProcessKey(for target: ExecTarget) -> String? {
        guard let pod = pods.first(where: {
            $0.namespace == target.namespace && $0.name == target.pod
                && ($0.node == nil || target.node == nil || $0.node == target.node)
        }) else { return nil }
        let container = target.container.flatMap { name in pod.containers.first { $0.name == name } }
            ?? (target.container == nil && pod.containers.count == 1 ? pod.containers[0] : nil)
        guard let container, container.main != nil else { return nil }
        return MainProcessHub.key(pod, container: container.name)
    }
}
