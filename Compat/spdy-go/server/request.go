package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

const (
	protocolV1 = "channel.k8s.io"
	protocolV2 = "v2.channel.k8s.io"
	protocolV3 = "v3.channel.k8s.io"
	protocolV4 = "v4.channel.k8s.io"
)

// target names the container an exec path points at; the server passes it to the command's environment so
// tests can see how a gateway built the upstream path.
type target struct{ namespace, pod, uid, container string }

// parseExecPath accepts kubelet's /exec/{ns}/{pod}/{container} and /exec/{ns}/{pod}/{uid}/{container}, and the
// apiserver's /api/v1/namespaces/{ns}/pods/{pod}/exec (?container=).
func parseExecPath(u *url.URL) (target, bool) {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch {
	case len(parts) == 4 && parts[0] == "exec":
		return target{namespace: parts[1], pod: parts[2], container: parts[3]}, nonEmpty(parts)
	case len(parts) == 5 && parts[0] == "exec":
		return target{namespace: parts[1], pod: parts[2], uid: parts[3], container: parts[4]}, nonEmpty(parts)
	case len(parts) == 7 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" &&
		parts[4] == "pods" && parts[6] == "exec":
		return target{namespace: parts[3], pod: parts[5], container: u.Query().Get("container")}, nonEmpty(parts)
	}
	return target{}, false
}

func nonEmpty(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return false
		}
	}
	return true
}

// streamOptions is kubelet's remotecommand.Options.
type streamOptions struct{ stdin, stdout, stderr, tty bool }

// parseStreamOptions follows kubelet's NewOptions for input/output/error/tty ("1" only) and also accepts
// apiserver-style stdin/stdout/stderr (true unless "0"/"false"), so the server can be hit directly by tools
// that build apiserver URLs.
func parseStreamOptions(q url.Values) (streamOptions, error) {
	apiserver := func(name string) bool {
		vs, ok := q[name]
		if !ok || len(vs) == 0 {
			return false
		}
		v := strings.ToLower(vs[0])
		return v != "0" && v != "false"
	}
	apiStyle := q.Has("stdin") || q.Has("stdout") || q.Has("stderr")
	o := streamOptions{
		stdin:  q.Get("input") == "1" || apiserver("stdin"),
		stdout: q.Get("output") == "1" || apiserver("stdout"),
		stderr: q.Get("error") == "1" || apiserver("stderr"),
		tty:    q.Get("tty") == "1" || (apiStyle && apiserver("tty")),
	}
	if o.tty && o.stderr {
		// kubelet: "Access to exec with tty and stderr is not supported, bypassing stderr"
		o.stderr = false
	}
	if !o.stdin && !o.stdout && !o.stderr {
		return o, fmt.Errorf("you must specify at least 1 of stdin, stdout, stderr")
	}
	return o, nil
}

// offeredVersions returns the client's X-Stream-Protocol-Version values in order, splitting comma-joined lines
// (proxies fold repeated headers).
func offeredVersions(h http.Header) []string {
	var out []string
	for _, line := range h.Values("X-Stream-Protocol-Version") {
		for _, v := range strings.Split(line, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// negotiate is apimachinery's negotiateProtocol: the first client version the server supports wins. A request
// without the header is a 2015 client and gets v1, as Kubernetes <= 1.17 did.
func negotiate(offered, supported []string) (string, bool) {
	if len(offered) == 0 {
		return "", true
	}
	for _, c := range offered {
		for _, s := range supported {
			if c == s {
				return c, true
			}
		}
	}
	return "", false
}

func versionNumber(protocol string) int {
	switch protocol {
	case protocolV4, "v5.channel.k8s.io":
		// v5 only adds WebSocket's close signal; over SPDY it is v4.
		return 4
	case protocolV3:
		return 3
	case protocolV2:
		return 2
	}
	return 1
}

func isSPDYUpgrade(h http.Header) bool {
	connection := strings.ToLower(strings.Join(h.Values("Connection"), ","))
	upgrade := strings.ToLower(strings.Join(h.Values("Upgrade"), ","))
	return strings.Contains(connection, "upgrade") && strings.Contains(upgrade, "spdy/3.1")
}
