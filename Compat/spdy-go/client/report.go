package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// report is the machine-readable side channel for test scripts: what the server answered and what was
// decided, without mixing anything into the command's own stdout/stderr.
type report struct {
	path   string
	mu     sync.Mutex
	values map[string]string
	done   bool
}

func newReport(path string) *report {
	return &report{path: path, values: map[string]string{}}
}

func (r *report) set(key, value string) {
	r.mu.Lock()
	r.values[key] = value
	r.mu.Unlock()
}

// finish writes the file once; later calls (a timeout racing the normal end) do nothing.
func (r *report) finish(exitCode int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done || r.path == "" {
		return
	}
	r.done = true
	r.values["exit"] = fmt.Sprint(exitCode)
	keys := make([]string, 0, len(r.values))
	for k := range r.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		// Values are single-line by construction except error_stream, which is quoted.
		fmt.Fprintf(&b, "%s=%s\n", k, r.values[k])
	}
	if err := os.WriteFile(r.path, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "spdy-exec-client: cannot write report: %v\n", err)
	}
}
