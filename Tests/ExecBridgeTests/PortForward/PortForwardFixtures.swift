@testable import ExecBridge
import ExecModel
import Foundation

/// What every port-forward test starts from: a gateway whose local backend knows one pod,
/// `default/web`, with the given ports listed (on the pod and on its container).
enum PortForwardFixtures {
    static func inventory(podPorts: [UInt16], containerPorts: [UInt16] = [], privileged: Bool = false) -> String {
        """
        pods:
          - namespace: default
            name: web
            ports: [\(podPorts.map(String.init).joined(separator: ", "))]
            containers:
              - name: app
                ports: [\(containerPorts.map(String.init).joined(separator: ", "))]
              - name: sidecar
                privileged: \(privileged)

        """
    }

    static func gateway(podPorts: [UInt16], containerPorts: [UInt16] = [],
                        configure: (inout GatewayConfig) -> Void = { _ in }) throws -> GatewayHarness {
        let inventory = try Inventory(yaml: self.inventory(podPorts: podPorts, containerPorts: containerPorts))
        return try GatewayHarness(configure: configure) { _ in LocalBackend(inventory: inventory) }
    }

    /// kubelet's path form.
    static let kubeletPath = "/portForward/default/web"
    /// The apiserver's.
    static let apiserverPath = "/api/v1/namespaces/default/pods/web/portforward"

    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
