import ExecModel

/// Pod objects as the apiserver would return them, reduced to what kubectl reads before an exec
/// (containers, phase Running, container statuses) and what `kubectl get pods` prints. Container
/// environments are never shown.
enum PodDocument {
    static func pod(_ pod: PodCatalog.Pod, started: String) -> String {
        #"{"kind":"Pod","apiVersion":"v1","#
            + object(pod, started: started) + "}"
    }

    static func list(_ pods: [PodCatalog.Pod], started: String) -> String {
        #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":["#
            + pods.map { "{" + object($0, started: started) + "}" }.joined(separator: ",") + "]}"
    }

    /// The 404 body for a pod the gateway does not know, as the apiserver writes it.
    static func notFound(_ name: String) -> String {
        #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"#
            + JSONText.quoted("pods \"\(name)\" not found")
            + #","reason":"NotFound","details":{"name":"# + JSONText.quoted(name)
            + #","kind":"pods"},"code":404}"#
    }

    private static func object(_ pod: PodCatalog.Pod, started: String) -> String {
        let time = JSONText.quoted(started)
        var text = #""metadata":{"name":"# + JSONText.quoted(pod.name)
            + #","namespace":"# + JSONText.quoted(pod.namespace)
            + #","uid":"# + JSONText.quoted(uid(pod)) + #","resourceVersion":"1","creationTimestamp":"# + time + "},"
        text += #""spec":{"containers":["#
            + pod.containers.map(container).joined(separator: ",") + "]"
        if let node = pod.node { text += #","nodeName":"# + JSONText.quoted(node) }
        text += #","restartPolicy":"Always"},"#
        text += #""status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"# + time
            + #"}],"hostIP":"127.0.0.1","podIP":"127.0.0.1","startTime":"# + time + #","containerStatuses":["#
            + pod.containers.map { status($0, started: time) }.joined(separator: ",") + "]}"
        return text
    }

    private static func container(_ spec: ContainerSpec) -> String {
        var text = #"{"name":"# + JSONText.quoted(spec.name) + #","image":"execbridge/local""#
        if let dir = spec.workingDir { text += #","workingDir":"# + JSONText.quoted(dir) }
        // kubectl attach takes tty from the spec (it forces -t on a tty container, drops it otherwise).
        if let main = spec.main {
            text += #","stdin":\#(main.stdin),"stdinOnce":\#(main.stdinOnce),"tty":\#(main.tty)"#
        }
        // No env: values are where people put secrets, and kubectl needs none of it to exec.
        return text + "}"
    }

    private static func status(_ spec: ContainerSpec, started: String) -> String {
        #"{"name":"# + JSONText.quoted(spec.name)
            + #","state":{"running":{"startedAt":"# + started
            + #"}},"ready":true,"restartCount":0,"image":"execbridge/local","imageID":"","started":true}"#
    }

    /// A stable UUID-shaped uid per namespace/name (FNV-1a), so repeated reads agree.
    static func uid(_ pod: PodCatalog.Pod) -> String {
        func fnv(_ text: String, seed: UInt64) -> UInt64 {
            var hash = seed
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
            return hash
        }
        let key = pod.namespace + "/" + pod.name
        let high = fnv(key, seed: 0xcbf2_9ce4_8422_2325)
        let low = fnv(key, seed: 0x8422_2325_cbf2_9ce4)
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        let a = hex(high >> 32, 8), b = hex((high >> 16) & 0xffff, 4), c = hex(high & 0xffff, 4)
        let d = hex(low >> 48, 4), e = hex(low & 0xffff_ffff_ffff, 12)
        return "\(a)-\(b)-\(c)-\(d)-\(e)"
    }
}
