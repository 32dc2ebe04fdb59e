import XCTest
import ExecModel

final class ExecRouterTests: XCTestCase {
    private struct Form {
        var prefix: String
        var form: PathForm
        var node: String?
    }

    /// Every path form that names its container in the path, with the names it carries.
    private let pathForms: [Form] = [
        Form(prefix: "/proxy/minions/node-1.example.com", form: .legacyProxy, node: "node-1.example.com"),
        Form(prefix: "/api/v1beta1/proxy/minions/node-1.example.com", form: .legacyProxy, node: "node-1.example.com"),
        Form(prefix: "/api/v1beta3/proxy/minions/node-1.example.com", form: .legacyProxy, node: "node-1.example.com"),
        Form(prefix: "/proxy/nodes/node-1", form: .currentProxy, node: "node-1"),
        Form(prefix: "/api/v1beta1/proxy/nodes/node-1", form: .currentProxy, node: "node-1"),
        Form(prefix: "/api/v1beta3/proxy/nodes/node-1", form: .currentProxy, node: "node-1"),
        Form(prefix: "/api/v1/proxy/nodes/node-1", form: .currentProxy, node: "node-1"),
        Form(prefix: "/api/v1/nodes/node-1/proxy", form: .nodeProxy, node: "node-1"),
        Form(prefix: "", form: .kubelet, node: nil),
    ]

    private func route(_ target: String, method: String = "POST") -> Result<ExecRequest, RequestError>? {
        ExecRouter.route(method: method, target: target)
    }

    private func request(_ target: String, method: String = "POST", file: StaticString = #filePath,
                         line: UInt = #line) -> ExecRequest? {
        switch route(target, method: method) {
        case .success(let request)?: return request
        case .failure(let error)?:
            XCTFail("refused \(target): \(error)", file: file, line: line)
        case nil:
            XCTFail("not routed: \(target)", file: file, line: line)
        }
        return nil
    }

    private func error(_ target: String, method: String = "POST", file: StaticString = #filePath,
                       line: UInt = #line) -> RequestError? {
        switch route(target, method: method) {
        case .failure(let error)?: return error
        case .success?: XCTFail("accepted \(target)", file: file, line: line)
        case nil: XCTFail("not routed: \(target)", file: file, line: line)
        }
        return nil
    }

    func testEveryPathFormWithBothFlagStyles() {
        let styles: [(query: String, stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool)] = [
            ("command=ls&command=-l&command=%2Ftmp&input=1&output=1&error=1", true, true, true, false),
            ("command=ls&command=-l&command=%2Ftmp&stdin=true&stdout=true&stderr=true", true, true, true, false),
            ("command=ls&command=-l&command=%2Ftmp&output=1&tty=1&error=1", false, true, false, true),
            ("command=ls&command=-l&command=%2Ftmp&stdout=1&tty=true&stderr=1", false, true, false, true),
        ]
        for form in pathForms {
            for style in styles {
                for (tail, uid) in [("/exec/kube-system/coredns-5d78c9869d-abcde/coredns", nil as String?),
                                    ("/exec/kube-system/coredns-5d78c9869d-abcde/0b6b7c3a-1f2e-4d5c-9a8b-7c6d5e4f3a2b/coredns",
                                     "0b6b7c3a-1f2e-4d5c-9a8b-7c6d5e4f3a2b")] {
                    let target = form.prefix + tail + "?" + style.query
                    guard let request = request(target) else { continue }
                    XCTAssertEqual(request, ExecRequest(
                        kind: .exec,
                        target: ExecTarget(node: form.node, namespace: "kube-system", pod: "coredns-5d78c9869d-abcde",
                                           container: "coredns", podUID: uid),
                        command: ["ls", "-l", "/tmp"], stdin: style.stdin, stdout: style.stdout, stderr: style.stderr,
                        tty: style.tty, pathForm: form.form, path: target), target)
                }
            }
        }
    }

    func testApiserverForm() {
        let target = "/api/v1/namespaces/default/pods/web-0/exec?command=sh&command=-c&command=echo+hi%21&container=nginx&stdin=true&stdout=true&tty=true"
        XCTAssertEqual(request(target), ExecRequest(
            kind: .exec, target: ExecTarget(namespace: "default", pod: "web-0", container: "nginx"),
            command: ["sh", "-c", "echo hi!"], stdin: true, stdout: true, stderr: false, tty: true,
            pathForm: .apiserver, path: target))
        // Kubelet-style flags work there too; the container may be omitted.
        let kubeletStyle = "/api/v1/namespaces/default/pods/web-0/exec?command=date&output=1&error=1"
        XCTAssertEqual(request(kubeletStyle, method: "GET"), ExecRequest(
            kind: .exec, target: ExecTarget(namespace: "default", pod: "web-0", container: nil),
            command: ["date"], stdin: false, stdout: true, stderr: true, tty: false,
            pathForm: .apiserver, path: kubeletStyle))
        XCTAssertEqual(request("/api/v1/namespaces/default/pods/web-0/exec?command=date&stdout=1&container=")?
            .target.container, nil)
    }

    func testAttachHasNoCommand() {
        for form in pathForms {
            let target = form.prefix + "/attach/ns/pod/c?stdin=1&stdout=1&tty=1&command=ignored"
            let attach = request(target)
            XCTAssertEqual(attach?.kind, .attach, target)
            XCTAssertEqual(attach?.command, [], target)
            XCTAssertEqual(attach?.pathForm, form.form, target)
        }
        let apiserver = request("/api/v1/namespaces/ns/pods/pod/attach?container=c&stdout=1")
        XCTAssertEqual(apiserver?.kind, .attach)
        XCTAssertEqual(apiserver?.target.container, "c")
    }

    func testFlagValueRules() {
        let base = "/exec/ns/pod/c?command=x&"
        // Kubelet style: only exactly "1" is true.
        XCTAssertEqual(error(base + "input=true&output=yes&error=2")?.code, 400)
        XCTAssertEqual(request(base + "output=1&tty=true")?.tty, true, "apiserver-style tty=true")
        XCTAssertEqual(request(base + "input=1&output=true")?.stdout, false, "output=true is false")
        // Apiserver style: absent, 0, false (any case) are false; anything else, even empty, is true.
        XCTAssertEqual(request(base + "stdout=")?.stdout, true)
        XCTAssertEqual(request(base + "stdout")?.stdout, true)
        XCTAssertEqual(request(base + "stdout=yes")?.stdout, true)
        XCTAssertEqual(request(base + "stdout=1&stdin=FALSE")?.stdin, false)
        XCTAssertEqual(request(base + "stdout=1&stdin=False")?.stdin, false)
        XCTAssertEqual(request(base + "stdout=1&stdin=0")?.stdin, false)
        XCTAssertEqual(error(base + "stdout=0&stderr=false&stdin=fAlSe")?.code, 400)
        // The first value of a repeated flag counts.
        XCTAssertEqual(request(base + "stdout=1&stdin=0&stdin=1")?.stdin, false)
        // Either style saying true wins.
        XCTAssertEqual(request(base + "stdin=0&input=1")?.stdin, true)
        XCTAssertEqual(request(base + "output=0&stdout=on")?.stdout, true)
    }

    func testCommandDecoding() {
        let decoded = request("/exec/ns/pod/c?output=1&command=a+b&command=c%2Bd&command=&command=%C3%A9%20%26")
        XCTAssertEqual(decoded?.command, ["a b", "c+d", "", "é &"])
        // Other parameters interleaved keep argv order.
        XCTAssertEqual(request("/exec/ns/pod/c?command=1&output=1&command=2&tty=0&command=3")?.command, ["1", "2", "3"])
    }

    func testNoStreams() {
        let message = "you must specify at least 1 of stdin, stdout, stderr"
        for query in ["command=ls", "command=ls&input=0&output=0", "command=ls&stderr=1&tty=1", "command=ls&tty=1"] {
            let refused = error("/exec/ns/pod/c?" + query)
            XCTAssertEqual(refused, .badRequest(message), query)
        }
    }

    func testMissingCommand() {
        for form in pathForms {
            XCTAssertEqual(error(form.prefix + "/exec/ns/pod/c?output=1"),
                           .badRequest("you must specify at least one command for the container"), form.prefix)
        }
        XCTAssertEqual(error("/api/v1/namespaces/ns/pods/p/exec?stdout=1")?.message,
                       "you must specify at least one command for the container")
    }

    func testBadMethod() {
        for method in ["PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get", "CONNECT"] {
            for form in pathForms {
                XCTAssertEqual(error(form.prefix + "/exec/ns/pod/c?command=ls&output=1", method: method),
                               RequestError(code: 405, reason: "MethodNotAllowed",
                                            message: "the server does not allow this method on the requested resource",
                                            headers: [.init("Allow", "GET, POST")]), method)
            }
        }
        XCTAssertEqual(error("/api/v1/namespaces/ns/pods/p/exec?command=ls", method: "PUT")?.code, 405)
    }

    func testBadNames() {
        let subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            + "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
            + "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        let label = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
            + "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
            + "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        let query = "?command=ls&output=1"
        XCTAssertEqual(error("/exec/ns/Bad_Name/c" + query)?.message, "invalid pod name \"Bad_Name\": " + subdomain)
        XCTAssertEqual(error("/exec/Default/pod/c" + query)?.message, "invalid namespace name \"Default\": " + subdomain)
        XCTAssertEqual(error("/exec/ns/pod/c.d" + query)?.message, "invalid container name \"c.d\": must not contain dots")
        XCTAssertEqual(error("/exec/ns/pod/-c" + query)?.message, "invalid container name \"-c\": " + label)
        XCTAssertEqual(error("/exec/ns/pod/" + String(repeating: "c", count: 64) + query)?.message,
                       "invalid container name \"\(String(repeating: "c", count: 64))\": must be no more than 63 characters")
        XCTAssertEqual(error("/exec/ns/" + String(repeating: "p", count: 254) + "/c" + query)?.message,
                       "invalid pod name \"\(String(repeating: "p", count: 254))\": must be no more than 253 characters")
        XCTAssertEqual(error("/proxy/nodes/Node_1/exec/ns/pod/c" + query)?.message, "invalid node name \"Node_1\": " + subdomain)
        XCTAssertEqual(error("/api/v1/nodes/node..1/proxy/exec/ns/pod/c" + query)?.message,
                       "invalid node name \"node..1\": " + subdomain)
        XCTAssertEqual(error("/api/v1/namespaces/ns/pods/pod/exec?command=ls&stdout=1&container=C")?.message,
                       "invalid container name \"C\": " + label)
        // Percent-decoding happens before validation: an encoded '/' cannot change the route.
        XCTAssertEqual(error("/exec/ns/a%2Fb/c" + query)?.message, "invalid pod name \"a/b\": " + subdomain)
        XCTAssertEqual(error("/exec/ns/pod%zz/c" + query)?.message,
                       "invalid pod name \"pod%zz\": invalid URL escape \"%zz\"")
        XCTAssertEqual(error("/exec/ns//c" + query)?.message, "invalid pod name \"\": " + subdomain)
        XCTAssertEqual(error("/exec/ns/pod/uid%20x/c" + query)?.message,
                       "invalid pod uid \"uid x\": must be 1 to 128 letters, digits, '-', '_' or '.'")
        XCTAssertEqual(error("/exec/ns/pod/c?command=%ff&output=1")?.message, "invalid query: not valid UTF-8")
        XCTAssertEqual(error("/exec/ns/pod/c?command=a%2&output=1")?.message, "invalid query: invalid URL escape \"%2\"")
        XCTAssertEqual(error("/exec/ns/pod/c?command=a%00b&output=1")?.message,
                       "invalid command: argument 0 contains a NUL byte")
        // Percent-encoded valid names are accepted decoded.
        XCTAssertEqual(request("/exec/n%73/pod/c" + query)?.target.namespace, "ns")
        for bad in ["/exec/ns/pod/c", "/exec/ns/pod/uid/c"] {
            XCTAssertEqual(error(bad + query, method: "PUT")?.code, 405, "method is checked before names")
        }
    }

    func testNotExecPaths() {
        for target in ["/", "/healthz", "/readyz", "/api", "/api/v1", "/version", "/exec", "/exec/ns/pod",
                       "/exec/ns/pod/a/b/c", "/execs/ns/pod/c", "/proxy/pods/p/exec/ns/pod/c",
                       "/api/v1/namespaces/ns/pods/pod/log", "/api/v1/namespaces/ns/pods/pod",
                       "/api/v1/namespaces/ns/pods/pod/exec/extra", "/api/v2/proxy/nodes/n/exec/ns/p/c",
                       "/api/v1/nodes/n/exec/ns/p/c", "exec/ns/pod/c", "*", "/api/v1/proxy/exec/ns/pod/c"] {
            XCTAssertNil(route(target + "?command=ls&output=1"), target)
            XCTAssertNil(route(target, method: "DELETE"), target)
        }
    }

    func testAbsoluteFormTarget() {
        let target = "http://gw.example:8080/exec/ns/pod/c?command=ls&output=1"
        let routed = request(target)
        XCTAssertEqual(routed?.pathForm, .kubelet)
        XCTAssertEqual(routed?.path, target)
    }

    /// The scheme of an absolute-form target is matched in any case (RFC 9110 §4.2.3), without
    /// lowercasing the target; a scheme-like word elsewhere is not one.
    func testAbsoluteFormSchemeIgnoresCase() {
        for target in ["HTTP://gw.example/exec/ns/pod/c?command=ls&output=1",
                       "Https://gw.example:8443/api/v1/namespaces/ns/pods/pod/exec?command=ls&stdout=1"] {
            XCTAssertEqual(request(target)?.target.pod, "pod", target)
        }
        XCTAssertNil(route("httpx://gw.example/exec/ns/pod/c?command=ls&output=1"))
        XCTAssertNil(route("http:/gw.example/exec/ns/pod/c?command=ls&output=1"))
    }

    /// Targets without the word exec or attach are never routed (the quick check), and the word
    /// anywhere, even only in the query or in another segment, still gets the full parse.
    func testTargetsWithoutExecOrAttachAreNotRouted() {
        for target in ["/healthz", "/readyz", "/livez", "/", "", "/api/v1/namespaces/ns/pods/pod/exe",
                       "/api/v1/namespaces/ns/pods/pod/attac", "/exe/ns/pod/c?command=ls&output=1", "?", "*"] {
            XCTAssertNil(route(target), target)
        }
        XCTAssertEqual(request("/attach/ns/pod/c?output=1")?.kind, .attach)
        XCTAssertEqual(request("/exec/ns/pod/c?command=ls&output=1")?.kind, .exec)
        XCTAssertEqual(request("/api/v1/namespaces/ns/pods/pod/exec?command=ls&stdout=1")?.kind, .exec)
        guard case .failure(let error)? = route("/exec/ns/pod/c?command=ls&output=1", method: "PUT") else {
            return XCTFail("PUT on an exec path is refused")
        }
        XCTAssertEqual(error.code, 405)
        guard case .failure(let bad)? = route("/exec/ns/POD/c?command=ls&output=1") else {
            return XCTFail("a bad pod name is refused")
        }
        XCTAssertEqual(bad.code, 400)
    }
}
