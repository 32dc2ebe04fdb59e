import ExecModel

/// The discovery documents, as small as client-go accepts: legacy (unaggregated) discovery with the
/// core group only, whose resources are pods and their exec and attach subresources. An aggregated
/// discovery request (kubectl 1.30+ asks for it first) gets the same legacy document with a plain
/// `application/json` type, which client-go takes as "not aggregated" and falls back on.
enum DiscoveryDocuments {
    /// `/version`. The Kubernetes version whose exec behaviour the gateway follows.
    static let version = #"{"major":"1","minor":"30","gitVersion":"v1.30.0+execbridge."#
        + ExecBridgeVersion.string
        + #"","gitCommit":"","gitTreeState":"clean","buildDate":"1970-01-01T00:00:00Z","goVersion":"","compiler":"swift","platform":"linux/amd64"}"#

    /// `/api`.
    static func apiVersions(serverAddress: String) -> String {
        #"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"#
            + JSONText.quoted(serverAddress) + "}]}"
    }

    /// `/apis`: no named groups.
    static let apiGroupList = #"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#

    /// `/api/v1`.
    static let coreV1Resources = #"{"kind":"APIResourceList","groupVersion":"v1","resources":["#
        + #"{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"],"categories":["all"]},"#
        + #"{"name":"pods/attach","singularName":"","namespaced":true,"kind":"PodAttachOptions","verbs":["create","get"]},"#
        + #"{"name":"pods/exec","singularName":"","namespaced":true,"kind":"PodExecOptions","verbs":["create","get"]},"#
        + #"{"name":"pods/portforward","singularName":"","namespaced":true,"kind":"PodPortForwardOptions","verbs":["create","get"]}"#
        + "]}"
}
