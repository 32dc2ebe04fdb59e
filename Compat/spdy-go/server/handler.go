package main

import (
	"fmt"
	"net/http"
)

type handler struct{ cfg *config }

// ServeHTTP checks the request in kubelet's order (stream options, version handshake, upgrade headers), then
// upgrades and runs the session on the hijacked connection.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	entry := requestEntry{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	defer func() { h.cfg.requestLog.write(entry) }()
	fail := func(code int, msg string) {
		entry.Status = code
		entry.Error = msg
		h.cfg.logf("%s %s -> %d %s", r.Method, r.URL.RequestURI(), code, msg)
		http.Error(w, msg, code)
	}

	t, ok := parseExecPath(r.URL)
	if !ok {
		fail(http.StatusNotFound, "404 page not found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "405 method not allowed")
		return
	}
	q := r.URL.Query()
	opts, err := parseStreamOptions(q)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	argv := q["command"]
	if len(argv) == 0 || argv[0] == "" {
		fail(http.StatusBadRequest, "you must specify a command")
		return
	}
	entry.Command = argv

	offered := offeredVersions(r.Header)
	entry.Offered = offered
	protocol, ok := negotiate(offered, h.cfg.versions)
	if !ok {
		for _, v := range h.cfg.versions {
			w.Header().Add("X-Accepted-Stream-Protocol-Versions", v)
		}
		fail(http.StatusForbidden, fmt.Sprintf("unable to upgrade: unable to negotiate protocol: client supports %v, server accepts %v",
			offered, h.cfg.versions))
		return
	}
	entry.Chosen = protocol
	if !isSPDYUpgrade(r.Header) {
		fail(http.StatusBadRequest, "unable to upgrade: missing upgrade headers in request")
		return
	}
	conn, err := hijack(w, protocol)
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	entry.Status = http.StatusSwitchingProtocols
	h.cfg.logf("%s %s -> 101 protocol %q", r.Method, r.URL.RequestURI(), protocol)
	s := newSession(h.cfg, conn, protocol, opts, argv, t)
	entry.Result = s.serve()
}
