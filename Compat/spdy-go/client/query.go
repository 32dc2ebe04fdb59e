package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// terminalSize is client-go's remotecommand.TerminalSize: it marshals as {"Width":W,"Height":H}.
type terminalSize struct {
	Width  uint16
	Height uint16
}

func parseSize(s string) (terminalSize, error) {
	parts := strings.SplitN(strings.ToLower(s), "x", 2)
	if len(parts) != 2 {
		return terminalSize{}, fmt.Errorf("bad -resize %q: want WxH, e.g. 100x40", s)
	}
	w, errW := strconv.ParseUint(parts[0], 10, 16)
	h, errH := strconv.ParseUint(parts[1], 10, 16)
	if errW != nil || errH != nil {
		return terminalSize{}, fmt.Errorf("bad -resize %q: want WxH with 16-bit numbers", s)
	}
	return terminalSize{Width: uint16(w), Height: uint16(h)}, nil
}

type streamSet struct{ stdin, stdout, stderr, tty bool }

// queryStreams reads the exec flags the way the two server families do: kubelet style (input, output, error,
// tty) is true only for "1"; apiserver style (stdin, stdout, stderr) is true unless absent, "0" or "false".
// tty follows apiserver rules only when the query uses apiserver-style names.
func queryStreams(q url.Values) streamSet {
	kubelet := func(name string) bool { return q.Get(name) == "1" }
	apiserver := func(name string) bool {
		vs, ok := q[name]
		if !ok || len(vs) == 0 {
			return false
		}
		v := strings.ToLower(vs[0])
		return v != "0" && v != "false"
	}
	apiStyle := q.Has("stdin") || q.Has("stdout") || q.Has("stderr")
	s := streamSet{
		stdin:  kubelet("input") || apiserver("stdin"),
		stdout: kubelet("output") || apiserver("stdout"),
		stderr: kubelet("error") || apiserver("stderr"),
		tty:    kubelet("tty") || (apiStyle && apiserver("tty")),
	}
	return s
}
