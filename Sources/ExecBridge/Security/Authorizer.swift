import ExecModel
import Logging

/// May this caller exec here? Evaluated as the verb `create` on `pods/exec` (`pods/attach`,
/// `pods/portforward`, with the same rules: a port-forward reaches whatever the pod listens on)
/// whatever the HTTP method: a GET is no less an exec than a POST (kubernetes/kubernetes#133515).
///
/// Members of `cluster-admin` or `system:masters` may exec anywhere. Everyone else never reaches a
/// privileged container (the inventory's `privileged: true`, or the policy's `privileged` list),
/// whatever the rules say; other targets need a matching rule, or any identity at all when there
/// is no policy file.
final class Authorizer: AdmissionStep, TargetAuthorizer {
    static let adminGroups: Set<String> = ["cluster-admin", "system:masters"]

    private var policy: AccessPolicy?
    private var inventory: Inventory?
    private let logger: Logger

    init(policy: AccessPolicy?, inventory: Inventory?, logger: Logger) {
        self.policy = policy
        self.inventory = inventory
        self.logger = logger
    }

    func admit(_ request: inout ExecRequest, context: RequestContext) -> RequestError? {
        let identity = request.identity
        if identity.groups.contains(where: Self.adminGroups.contains) { return nil }
        var (target, privileged) = resolved(request.target)
        let podWide = request.kind == .portForward && podIsPrivileged(request.target)
        privileged = privileged || podWide
        let denial: RequestError?
        if podWide {
            denial = Self.forbidden(request, identity: identity,
                                    reason: "the pod has a privileged container: port-forward into it is reserved to members of cluster-admin or system:masters")
        } else if privileged {
            let which = target.container.map { "container \"\($0)\"" } ?? "the container"
            denial = Self.forbidden(request, identity: identity,
                                    reason: "\(which) is privileged: exec into privileged containers is reserved to members of cluster-admin or system:masters")
        } else if let policy, !policy.allows(identity, target) {
            denial = Self.forbidden(request, identity: identity, reason: nil)
        } else {
            denial = nil
        }
        if denial != nil {
            logger.info("exec denied", metadata: ["user": "\(identity.user)", "target": "\(request.target)",
                                                  "privileged": "\(privileged)"])
        }
        return denial
    }

    /// What discovery may show: the same decision as `admit`, without a log line.
    func mayExec(_ identity: Identity, _ target: ExecTarget) -> Bool {
        if identity.groups.contains(where: Self.adminGroups.contains) { return true }
        let (target, privileged) = resolved(target)
        return !privileged && policy?.allows(identity, target) != false
    }

    /// The target with the container an omitted name means (the local backend knows its
    /// containers), and whether it is privileged by the inventory or the policy.
    private func resolved(_ target: ExecTarget) -> (ExecTarget, Bool) {
        var target = target
        var privileged = false
        if let inventory, case .success(let container) = inventory.lookup(target) {
            privileged = container.privileged
            target.container = container.name
        }
        if policy?.namesPrivileged(target) == true { privileged = true }
        return (target, privileged)
    }

    /// Whether any container of the pod is privileged (a port-forward reaches them all).
    private func podIsPrivileged(_ target: ExecTarget) -> Bool {
        guard let inventory, case .success(let pod) = inventory.pod(target) else { return false }
        return pod.hasPrivilegedContainer
    }

    /// Kubernetes' RBAC wording, with the reason appended as the apiserver appends one.
    static func forbidden(_ request: ExecRequest, identity: Identity, reason: String?) -> RequestError {
        let resource: String
        switch request.kind {
        case .exec: resource = "pods/exec"
        case .attach: resource = "pods/attach"
        case .portForward: resource = "pods/portforward"
        }
        var message = "pods \"\(request.target.pod)\" is forbidden: User \"\(identity.user)\" cannot create resource "
            + "\"\(resource)\" in API group \"\" in the namespace \"\(request.target.namespace)\""
        if let reason { message += ": " + reason }
        return .forbidden(message)
    }
}

extension Authorizer: InventoryFollower {
    /// Admissions from now on use the reloaded policy; sessions already admitted are not judged again.
    func follow(_ policy: AccessPolicy?) {
        self.policy = policy
    }

    func follow(_ inventory: Inventory?) {
        self.inventory = inventory
    }
}
